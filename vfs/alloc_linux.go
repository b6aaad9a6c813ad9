//go:build linux

package vfs

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// allocate uses fallocate(2) mode 0 on a file of the real OS. Filesystems
// that cannot (EOPNOTSUPP) fall back to Truncate in the caller.
func allocate(f File, size int64) (bool, error) {
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
			serr = unix.Fallocate(int(fd), 0, 0, size)
			if !errors.Is(serr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return true, err
	}
	if errors.Is(serr, syscall.EOPNOTSUPP) || errors.Is(serr, syscall.ENOSYS) {
		return false, nil
	}
	return true, pathErr("fallocate", of.Name(), serr)
}

// datasync uses fdatasync(2) on a file of the real OS.
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
			serr = unix.Fdatasync(int(fd))
			if !errors.Is(serr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return true, err
	}
	return true, pathErr("fdatasync", of.Name(), serr)
}
