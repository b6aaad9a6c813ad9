package durable

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/durable-go/durable/vfs"
)

// syncTemp flushes a sealed temp file before its rename. On macOS a full
// flush (F_FULLFSYNC, File.Sync) empties the drive's whole write cache and
// is the expensive step of a replace; a replace made two, one for the temp
// file and one for the directory. The temp file gets F_BARRIERFSYNC
// instead: fsync's write of the file's data and metadata to the drive,
// then a barrier, so that the drive puts them on media before anything
// issued after it (Apple's fcntl(2): "Does the same thing as fsync(2) then
// issues a barrier command to the drive"). The rename comes after the
// barrier, and the replace ends with F_FULLFSYNC of the directory
// (syncParent, never skipped when this ran), which flushes the drive's
// cache with the temp file's data and the rename in it. So a power cut
// leaves either the old file, or the new name with the new data under it:
// the same guarantee, with one full flush instead of two.
//
// Where the barrier is not supported (ENOTSUP: some network and FUSE
// filesystems) the temp file gets File.Sync, as before.
func syncTemp(f vfs.File) error {
	of, ok := f.(*os.File)
	if !ok {
		return f.Sync()
	}
	rc, err := of.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			_, serr = unix.FcntlInt(fd, unix.F_BARRIERFSYNC, 0)
			if !errors.Is(serr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	if errors.Is(serr, syscall.ENOTSUP) || errors.Is(serr, syscall.EINVAL) {
		return f.Sync()
	}
	if serr != nil {
		return &os.PathError{Op: "fcntl F_BARRIERFSYNC", Path: of.Name(), Err: serr}
	}
	return nil
}
