package durable_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
)

// mountTinyTmpfs mounts a tmpfs of the given size for the test and unmounts
// it at the end, whatever happens.
func mountTinyTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("full-disk test needs root to mount a tiny tmpfs (CI runs it as root)")
	}
	mnt := filepath.Join(testdir.New(t), "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			exec.Command("umount", "-l", mnt).Run()
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	return mnt
}

func TestFullDisk(t *testing.T) {
	mnt := mountTinyTmpfs(t, "64k")
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
