//go:build linux || darwin || freebsd

package vfs

import (
	"errors"
	"os"
	"syscall"
)

// fdCall runs call on the descriptor of f, when f is a file of the real
// OS, again while it is interrupted (EINTR), and wraps its error like
// package os does, as op. done is false when f is not such a file, or
// when call failed with one of unsupported: the caller then falls back to
// the portable way.
func fdCall(f File, op string, call func(fd int) error, unsupported ...error) (done bool, err error) {
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
		serr = ignoringEINTR(func() error { return call(int(fd)) })
	}); err != nil {
		return true, err
	}
	for _, u := range unsupported {
		if errors.Is(serr, u) {
			return false, nil
		}
	}
	return true, pathErr(op, of.Name(), serr)
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
