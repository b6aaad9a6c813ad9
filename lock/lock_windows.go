package lock

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockOffset is where the locked byte sits: far past any data the sidecar
// will hold. Windows byte-range locks are mandatory, so locking byte 0 would
// make reading the sidecar fail; a byte nobody reads blocks nobody.
const lockOffset = 1 << 62

// osLocker uses LockFileEx. Its locks belong to the handle, so another handle
// in this process conflicts as another process would, and closing some other
// handle to the file does not drop them.
type osLocker struct{}

func lockRange() *windows.Overlapped {
	return &windows.Overlapped{Offset: uint32(lockOffset & 0xffffffff), OffsetHigh: uint32(lockOffset >> 32)}
}

func (osLocker) tryLock(f *os.File, exclusive bool) error {
	flags := uint32(windows.LOCKFILE_FAIL_IMMEDIATELY)
	if exclusive {
		flags |= windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	return control(f, func(fd uintptr) error {
		err := windows.LockFileEx(windows.Handle(fd), flags, 0, 1, 0, lockRange())
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
			return ErrLocked
		}
		return err
	})
}

// waitLock blocks until LockFileEx takes the lock (the handle is
// synchronous, so the call waits): it is granted the moment its holder
// releases it.
func (osLocker) waitLock(f *os.File, exclusive bool) error {
	flags := uint32(0)
	if exclusive {
		flags |= windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	return control(f, func(fd uintptr) error {
		return windows.LockFileEx(windows.Handle(fd), flags, 0, 1, 0, lockRange())
	})
}

func (osLocker) unlock(f *os.File) error {
	return control(f, func(fd uintptr) error {
		return windows.UnlockFileEx(windows.Handle(fd), 0, 1, 0, lockRange())
	})
}

// openBusy reports an open of the sidecar that failed because another
// program holds it open without sharing it: a sharing violation, which
// lasts only as long as that program's handle.
func openBusy(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_LOCK_VIOLATION)
}
