//go:build linux || darwin

package durable

import (
	"bytes"
	"syscall"

	"golang.org/x/sys/unix"
)

// Linux and macOS list names NUL-separated and say ERANGE for a buffer
// too small.

func listXattrs(path string, buf []byte) ([]string, error) {
	for {
		n, err := unix.Llistxattr(path, buf)
		if err == syscall.ERANGE {
			// Larger than buf: ask for the size, then read again (it may
			// grow in between, hence the loop).
			if n, err = unix.Llistxattr(path, nil); err != nil {
				return nil, err
			}
			buf = make([]byte, n+64)
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		var names []string
		for name := range bytes.SplitSeq(buf[:n], []byte{0}) {
			if len(name) > 0 {
				names = append(names, string(name))
			}
		}
		return names, nil
	}
}

func getXattr(path, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(path, name, buf)
		if err == syscall.ERANGE {
			if n, err = unix.Lgetxattr(path, name, nil); err != nil {
				return nil, err
			}
			buf = make([]byte, n+64)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

func setXattr(fd int, name string, value []byte) error {
	return unix.Fsetxattr(fd, name, value, 0)
}
