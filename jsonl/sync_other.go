//go:build !linux

package jsonl

import "github.com/durable-go/durable/vfs"

// datasync makes the file's data and size durable. Outside Linux it is
// File.Sync: F_FULLFSYNC on macOS (a plain fsync there does not flush the
// drive's cache), fsync on the BSDs, FlushFileBuffers on Windows.
func datasync(f vfs.File) error { return f.Sync() }
