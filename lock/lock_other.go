//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd || windows)

package lock

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// osLocker refuses: on this platform there is no lock call known to keep its
// lock when another descriptor for the file is closed, and a lock that
// silently does nothing is worse than none.
type osLocker struct{}

func (osLocker) tryLock(*os.File, bool) error {
	return fmt.Errorf("file locks on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func (osLocker) waitLock(*os.File, bool) error {
	return fmt.Errorf("file locks on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func (osLocker) unlock(*os.File) error { return nil }

// openBusy is false: opening a file here never fails because another
// process has it open.
func openBusy(error) bool { return false }
