//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package lock

import (
	"os"

	"golang.org/x/sys/unix"
)

// osLocker uses flock. Its locks belong to the open file, so closing another
// descriptor for the same file does not drop them, and two opens in one
// process conflict as two processes would.
type osLocker struct{}

func (osLocker) tryLock(f *os.File, exclusive bool) error {
	how := unix.LOCK_SH | unix.LOCK_NB
	if exclusive {
		how = unix.LOCK_EX | unix.LOCK_NB
	}
	return control(f, func(fd uintptr) error {
		return wouldBlock(ignoringEINTR(func() error { return unix.Flock(int(fd), how) }))
	})
}

// waitLock blocks until flock takes the lock: the kernel hands it over the
// moment its holder releases it.
func (osLocker) waitLock(f *os.File, exclusive bool) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	return control(f, func(fd uintptr) error {
		return ignoringEINTR(func() error { return unix.Flock(int(fd), how) })
	})
}

func (osLocker) unlock(f *os.File) error {
	return control(f, func(fd uintptr) error {
		return ignoringEINTR(func() error { return unix.Flock(int(fd), unix.LOCK_UN) })
	})
}
