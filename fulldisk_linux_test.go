package durable_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
)

func TestFullDisk(t *testing.T) {
	mnt := testdir.TinyTmpfs(t, "64k")
	name := filepath.Join(mnt, "state.json")
	old := bytes.Repeat([]byte("o"), 24<<10)
	if err := durable.WriteFile(name, old, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		size int
	}{
		{"larger than the disk", 128 << 10},
		// Fits alone, but not beside the old version, which must stay
		// until the new one is complete.
		{"no room beside the old version", 48 << 10},
	} {
		t.Run(tc.what, func(t *testing.T) {
			err := durable.WriteFile(name, bytes.Repeat([]byte("n"), tc.size), 0o600)
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("err = %v, want ENOSPC", err)
			}
			got, rerr := os.ReadFile(name)
			if rerr != nil || !bytes.Equal(got, old) {
				t.Fatalf("old content harmed: %d bytes, %v", len(got), rerr)
			}
			noTemps(t, mnt)
		})
	}
	// Once the new content fits, the write goes through.
	if err := durable.WriteFile(name, []byte("small"), 0o600); err != nil {
		t.Fatalf("write after ENOSPC: %v", err)
	}
}
