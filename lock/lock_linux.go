package lock

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// osLocker uses open-file-description locks: they belong to the open file,
// as flock locks do, so closing some other descriptor for the same file does
// not drop them, which is the flaw of classic F_SETLK locks. Unlike flock,
// they are also byte-range locks that NFS servers implement. Kernels before
// 3.15 reject F_OFD_SETLK with EINVAL; there flock stands in. The choice is
// the kernel's, so every process on a machine makes the same one.
type osLocker struct{}

func (osLocker) tryLock(f *os.File, exclusive bool) error {
	return control(f, func(fd uintptr) error {
		lk := unix.Flock_t{Type: unix.F_RDLCK, Whence: unix.SEEK_SET} // Len 0: the whole file
		how := unix.LOCK_SH | unix.LOCK_NB
		if exclusive {
			lk.Type = unix.F_WRLCK
			how = unix.LOCK_EX | unix.LOCK_NB
		}
		err := ignoringEINTR(func() error { return unix.FcntlFlock(fd, unix.F_OFD_SETLK, &lk) })
		if errors.Is(err, unix.EINVAL) {
			err = ignoringEINTR(func() error { return unix.Flock(int(fd), how) })
		}
		return wouldBlock(err)
	})
}

// waitLock blocks until the lock is taken (F_OFD_SETLKW, or flock where
// the kernel lacks OFD locks): the kernel hands the lock over the moment
// its holder releases it.
func (osLocker) waitLock(f *os.File, exclusive bool) error {
	return control(f, func(fd uintptr) error {
		lk := unix.Flock_t{Type: unix.F_RDLCK, Whence: unix.SEEK_SET}
		how := unix.LOCK_SH
		if exclusive {
			lk.Type = unix.F_WRLCK
			how = unix.LOCK_EX
		}
		err := ignoringEINTR(func() error { return unix.FcntlFlock(fd, unix.F_OFD_SETLKW, &lk) })
		if errors.Is(err, unix.EINVAL) {
			err = ignoringEINTR(func() error { return unix.Flock(int(fd), how) })
		}
		return err
	})
}

func (osLocker) unlock(f *os.File) error {
	return control(f, func(fd uintptr) error {
		lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: unix.SEEK_SET}
		err := ignoringEINTR(func() error { return unix.FcntlFlock(fd, unix.F_OFD_SETLK, &lk) })
		if errors.Is(err, unix.EINVAL) {
			err = ignoringEINTR(func() error { return unix.Flock(int(fd), unix.LOCK_UN) })
		}
		return err
	})
}
