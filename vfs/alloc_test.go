package vfs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// Allocate and Datasync on a file of the real OS go through the
// platform's calls (fallocate, F_PREALLOCATE, fdatasync) or the portable
// fallback: either way the file grows, keeps its data, never shrinks, and
// a failure names the file.
func TestAllocateOSFile(t *testing.T) {
	name := filepath.Join(testdir.New(t), "segment")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("head"); err != nil {
		t.Fatal(err)
	}
	const size = 1 << 20
	if err := vfs.Allocate(f, size); err != nil {
		t.Fatal(err)
	}
	if err := vfs.Allocate(f, 10); err != nil {
		t.Fatalf("Allocate below the size: %v", err)
	}
	if err := vfs.Datasync(f); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != size || string(b[:4]) != "head" || !bytes.Equal(b[4:], make([]byte, size-4)) {
		t.Fatalf("after Allocate: %d bytes starting %q, want %d: the data, then zeros", len(b), b[:min(len(b), 8)], size)
	}

	ro, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := vfs.Allocate(ro, 2*size); err == nil || !strings.Contains(err.Error(), name) {
		t.Fatalf("Allocate of a read-only file: %v, want an error naming the file", err)
	}
}
