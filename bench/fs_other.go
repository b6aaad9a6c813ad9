//go:build !linux

package main

// filesystem is known only on Linux here; elsewhere the report says so.
func filesystem(dir string) (fs, mountFS, mount string) { return "unknown (not Linux)", "", "" }
