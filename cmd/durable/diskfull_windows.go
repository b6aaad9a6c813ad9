package main

import (
	"errors"
	"syscall"
)

// Windows reports a full disk with its own error numbers, which do not
// match syscall.ENOSPC.
const (
	errorHandleDiskFull syscall.Errno = 39
	errorDiskFull       syscall.Errno = 112
)

func isDiskFull(err error) bool {
	return errors.Is(err, errorDiskFull) || errors.Is(err, errorHandleDiskFull)
}
