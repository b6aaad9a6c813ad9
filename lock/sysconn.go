//go:build unix || windows

package lock

import "os"

// control runs fn on f's descriptor. Unlike f.Fd, it leaves the descriptor's
// blocking mode alone and keeps f from being closed while fn runs.
func control(f *os.File, fn func(fd uintptr) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) { opErr = fn(fd) }); err != nil {
		return err
	}
	return opErr
}
