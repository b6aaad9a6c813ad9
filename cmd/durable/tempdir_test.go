package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// tempDir is t.TempDir, except under Wine (DURABLE_UNDER_WINE=1), whose
// os.RemoveAll fails with "Invalid function" and would fail the test in
// cleanup; there the directory is removed one entry at a time, deepest
// first, with os.Remove, which works.
func tempDir(t *testing.T) string {
	t.Helper()
	if os.Getenv("DURABLE_UNDER_WINE") != "1" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "durabletest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var paths []string
		filepath.WalkDir(dir, func(p string, _ fs.DirEntry, _ error) error {
			paths = append(paths, p)
			return nil
		})
		for _, p := range slices.Backward(paths) {
			os.Remove(p)
		}
	})
	return dir
}
