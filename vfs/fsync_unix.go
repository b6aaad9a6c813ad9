//go:build unix && !darwin

package vfs

import "syscall"

// fsyncFd is fsync(2).
func fsyncFd(fd int) error {
	for {
		if err := syscall.Fsync(fd); err != syscall.EINTR {
			return err
		}
	}
}
