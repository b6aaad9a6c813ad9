//go:build linux

package vfs

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// allocate uses fallocate(2) mode 0 on a file of the real OS. Filesystems
// that cannot (EOPNOTSUPP) fall back to Truncate in the caller.
func allocate(f File, size int64) (bool, error) {
	return fdCall(f, "fallocate", func(fd int) error {
		return unix.Fallocate(fd, 0, 0, size)
	}, syscall.EOPNOTSUPP, syscall.ENOSYS)
}

// datasync uses fdatasync(2) on a file of the real OS.
func datasync(f File) (bool, error) {
	return fdCall(f, "fdatasync", unix.Fdatasync)
}
