package main

import (
	ib "github.com/durable-go/durable/internal/bench"
)

// The raw sequences are the floors: what a durable replace and a durable
// append cost when nothing is added to the system calls that make them
// durable. They are durable's own internal/bench floors (a nested module
// may import its parent's internal packages), so that durable bench, the
// Go benchmarks and this program measure against one baseline.

// rawReplacer returns the minimal durable replace: open a fresh temp file
// O_EXCL beside the target, write, fsync, close, rename over the target,
// fsync the directory.
func rawReplacer() func(path string, data []byte) error { return ib.RawReplacer() }

// rawAppendSize is how much the raw appenders preallocate at a time: more
// than most runs write. A floor that fills it allocates as much again and
// goes on; it never writes over its own records (internal/bench's space).
const rawAppendSize = 64 << 20

// payload returns size bytes of printable filler.
func payload(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}
