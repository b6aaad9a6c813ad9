package vfs

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// fsyncFd is fcntl(F_FULLFSYNC), which also flushes the drive's write
// cache, as os.File.Sync does on macOS; where the filesystem refuses it
// (ENOTSUP, as on SMB mounts) it falls back to fsync(2), as Sync does too.
func fsyncFd(fd int) error {
	for {
		_, err := unix.FcntlInt(uintptr(fd), unix.F_FULLFSYNC, 0)
		if err == unix.ENOTSUP {
			err = syscall.Fsync(fd)
		}
		if err != syscall.EINTR {
			return err
		}
	}
}
