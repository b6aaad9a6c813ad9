//go:build !windows

package durable

import "os"

// keepSecurity has nothing to do here: ACLs are extended attributes (Linux,
// FreeBSD) or kept as macOS keeps them (see xattr.go).
func keepSecurity(*os.File, string) (bool, error) { return false, nil }
