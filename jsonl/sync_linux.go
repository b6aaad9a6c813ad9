package jsonl

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"github.com/durable-go/durable/vfs"
)

// datasync makes the file's data, and the size that reaches it, durable:
// fdatasync(2) on a real file, which skips the inode's timestamps that an
// append does not need, and vfs.Datasync on any other (the crash model's
// Datasync, which leaves mode and owner unsynced as fdatasync does).
func datasync(f vfs.File) error {
	of, ok := f.(*os.File)
	if !ok {
		return vfs.Datasync(f)
	}
	rc, err := of.SyscallConn()
	if err != nil {
		return f.Sync()
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Fdatasync(int(fd))
			if !errors.Is(serr, unix.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: of.Name(), Err: serr}
	}
	return nil
}
