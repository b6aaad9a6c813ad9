//go:build !linux

package main

import "os"

// preallocate writes size zero bytes: without fallocate(2) that is the
// portable way to make later writes inside the file leave its size alone.
func preallocate(f *os.File, size int64) error { return zeroFill(f, size) }

// datasync is File.Sync where fdatasync(2) is not at hand (on macOS it is
// F_FULLFSYNC, which also flushes the drive's cache).
func datasync(f *os.File) error { return f.Sync() }
