package vfs

import (
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
	return fdCall(f, "fdatasync", func(fd int) error {
		if _, _, e := unix.Syscall(unix.SYS_FDATASYNC, uintptr(fd), 0, 0); e != 0 {
			return e
		}
		return nil
	}, syscall.ENOSYS)
}
