//go:build !linux

package jsonl

import "github.com/durable-go/durable/vfs"

// datasync makes the file's data and size durable. Outside Linux it is
// File.Sync: F_FULLFSYNC on macOS (a plain fsync there does not flush the
// drive's cache), fsync on the BSDs, FlushFileBuffers on Windows. A file
// with a Datasync of its own (the crash model's) uses that, so that tests
// see what fdatasync leaves unsynced on every platform.
func datasync(f vfs.File) error {
	if d, ok := f.(vfs.DataSyncer); ok {
		return d.Datasync()
	}
	return f.Sync()
}
