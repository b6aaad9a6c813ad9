//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package lock

import (
	"errors"

	"golang.org/x/sys/unix"
)

// wouldBlock maps the errors that mean "someone else holds it" to ErrLocked.
// flock says EWOULDBLOCK; fcntl may say EAGAIN or EACCES.
func wouldBlock(err error) error {
	if errors.Is(err, unix.EWOULDBLOCK) || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return ErrLocked
	}
	return err
}

// ignoringEINTR retries fn while a signal interrupts it. Non-blocking lock
// calls rarely see EINTR, but a lost lock attempt must not become an error.
func ignoringEINTR(fn func() error) error {
	for {
		err := fn()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// openBusy is false: opening a file here never fails because another
// process has it open.
func openBusy(error) bool { return false }
