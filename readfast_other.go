//go:build !linux

package durable

import "io/fs"

// readOS is readInto's short way on Linux (readfast_linux.go); elsewhere
// readInto always takes the general way.
func readOS(name string, flag int, buf []byte) ([]byte, fs.FileInfo, bool) {
	return buf[:0], nil, false
}

// sameStat leaves sameFile to os.SameFile.
func sameStat(a, b fs.FileInfo) (same, ok bool) { return false, false }
