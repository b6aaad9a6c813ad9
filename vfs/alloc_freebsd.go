package vfs

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// allocate has no platform call here (posix_fallocate is not used: it has
// never run here), so Allocate extends with Truncate.
func allocate(File, int64) (bool, error) { return false, nil }

// datasync uses fdatasync(2) (FreeBSD 11.1 and later) on a file of the
// real OS. x/sys/unix has the call's number but no wrapper. A kernel
// without it (ENOSYS) falls back to File.Sync in the caller.
func datasync(f File) (bool, error) {
	of, ok := f.(*os.File)
	if !ok {
		return false, nil
	}
	rc, err := of.SyscallConn()
	if err != nil {
		return true, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			_, _, e := unix.Syscall(unix.SYS_FDATASYNC, fd, 0, 0)
			if e == 0 {
				serr = nil
			} else {
				serr = e
			}
			if !errors.Is(serr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return true, err
	}
	if errors.Is(serr, syscall.ENOSYS) {
		return false, nil
	}
	return true, pathErr("fdatasync", of.Name(), serr)
}
