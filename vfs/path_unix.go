//go:build unix && !darwin

package vfs

// onDiskName is newname: the filesystems of these systems compare names
// byte for byte, so no other spelling names the same entry.
func onDiskName(newname string) string { return newname }
