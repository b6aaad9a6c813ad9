//go:build !linux && !darwin && !freebsd

package vfs

// allocate has no platform call here: Allocate extends with Truncate.
func allocate(f File, size int64) (bool, error) { return false, nil }

// datasync has no platform call here: Datasync uses File.Sync.
func datasync(f File) (bool, error) { return false, nil }
