//go:build linux

package main

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// preallocate reserves size bytes with fallocate(2), as durable's journal
// does for its segments, so appends inside them do not change the size.
func preallocate(f *os.File, size int64) error {
	err := control(f, func(fd int) error { return unix.Fallocate(fd, 0, 0, size) })
	if errors.Is(err, syscall.EOPNOTSUPP) {
		return zeroFill(f, size)
	}
	return err
}

// datasync flushes f's data with fdatasync(2): enough for a preallocated
// file, whose size does not change.
func datasync(f *os.File) error {
	return control(f, unix.Fdatasync)
}

func control(f *os.File, call func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	if err := rc.Control(func(fd uintptr) {
		for {
			cerr = call(int(fd))
			if !errors.Is(cerr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	return cerr
}
