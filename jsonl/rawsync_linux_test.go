package jsonl_test

import (
	"os"

	"golang.org/x/sys/unix"
)

// rawAppend is the floor: one write, then fdatasync.
func rawAppend(f *os.File, line []byte) error {
	if _, err := f.Write(line); err != nil {
		return err
	}
	return unix.Fdatasync(int(f.Fd()))
}
