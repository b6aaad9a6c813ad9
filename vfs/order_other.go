//go:build !linux

package vfs

// orderedDirs is false: no filesystem is known to order directory changes
// here (APFS and NTFS journal their metadata, but that is not checked).
func orderedDirs(string) bool { return false }
