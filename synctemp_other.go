//go:build !darwin

package durable

import "github.com/durable-go/durable/vfs"

// syncTemp flushes a sealed temp file before its rename: File.Sync.
func syncTemp(f vfs.File) error { return f.Sync() }
