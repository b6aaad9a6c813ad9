// Package testdir gives tests a temporary directory that also works under
// Wine, where the module's Windows tests run.
package testdir

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// UnderWine reports whether the tests run as Windows binaries under Wine
// (../shared/wine/go-test-windows sets DURABLE_UNDER_WINE=1). Tests use it
// to skip, with a reason naming the Wine gap, what only real Windows does.
func UnderWine() bool { return os.Getenv("DURABLE_UNDER_WINE") == "1" }

// New is t.TempDir, except under Wine, whose os.RemoveAll fails with
// "Invalid function" and would fail the test in cleanup: there the
// directory is removed one entry at a time, deepest first, with os.Remove,
// which works.
func New(t testing.TB) string {
	t.Helper()
	if !UnderWine() {
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

// Rounds picks how many rounds (crashes, kills, processes) a test runs:
// ci in CI (CI=true), short with -short, normal for a developer's go test.
func Rounds(ci, normal, short int) int {
	switch {
	case os.Getenv("CI") == "true":
		return ci
	case testing.Short():
		return short
	}
	return normal
}

// ReadString returns the content of the file name, failing the test if it
// cannot be read.
func ReadString(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
