//go:build !linux

package jsonl_test

import "os"

// rawAppend is the floor: one write, then the platform's fsync.
func rawAppend(f *os.File, line []byte) error {
	if _, err := f.Write(line); err != nil {
		return err
	}
	return f.Sync()
}
