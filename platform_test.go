package durable_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/lock"
)

// Behaviours that differ between platforms, tested on every one: what
// Windows needs code for (read-only attributes, paths past MAX_PATH,
// case-insensitive names) must come out as it does on Unix.

// A read-only file is replaced, as rename does on Unix, and stays
// read-only: its mode is kept like any other. Windows refuses to rename
// over a file with the read-only attribute, so there the attribute is
// lifted for the rename.
func TestReplaceReadOnlyFile(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "settings.json")
	if err := os.WriteFile(name, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(name, 0o644) }) // so the directory can be removed
	if err := durable.WriteFile(name, []byte("new"), 0o644); err != nil {
		t.Fatalf("replacing a read-only file: %v", err)
	}
	wantContent(t, name, "new", "after the write")
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("mode %v after the replace: the file is no longer read-only", fi.Mode().Perm())
	}
	// And again, now that the replacement is the read-only file.
	if err := durable.WriteFile(name, []byte("newer"), 0o644); err != nil {
		t.Fatalf("replacing the read-only replacement: %v", err)
	}
	wantContent(t, name, "newer", "after the second write")
	noTemps(t, dir)
}

// Paths longer than Windows' MAX_PATH (260) work for every operation: the
// Windows API calls made directly get the \\?\ form.
func TestLongPath(t *testing.T) {
	dir := testdir.New(t)
	deep := dir
	for i := 0; len(deep) < 320; i++ {
		deep = filepath.Join(deep, strings.Repeat(string(rune('a'+i%26)), 40))
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Skipf("this filesystem cannot make a %d-character path: %v", len(deep), err)
	}
	name := filepath.Join(deep, "state.json")
	for _, content := range []string{"one", "two"} {
		if err := durable.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatalf("WriteFile to a %d-character path: %v", len(name), err)
		}
	}
	got, err := durable.ReadFile(name)
	if err != nil || string(got) != "two" {
		t.Fatalf("ReadFile: %q, %v", got, err)
	}
	if err := durable.Update(name, func(old []byte) ([]byte, error) { return append(old, '!'), nil }); err != nil {
		t.Fatalf("Update of a %d-character path: %v", len(name), err)
	}
	wantContent(t, name, "two!", "after Update")
	h, err := lock.Lock(context.Background(), name)
	if err != nil {
		t.Fatalf("lock a %d-character path: %v", len(name), err)
	}
	h.Unlock()
	noTemps(t, deep)
}

// On a filesystem that compares names without case (NTFS, FAT, APFS by
// default), writing "Config.json" replaces "config.json": one file, the
// new content. On Windows its name is kept as the directory spells it: a
// replace changes the content, never the name.
func TestCaseInsensitiveName(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "config.json")
	if err := durable.WriteFile(name, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "CONFIG.JSON")); err != nil {
		t.Skip("this filesystem tells names apart by case")
	}
	if err := durable.WriteFile(filepath.Join(dir, "Config.json"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || !strings.EqualFold(names[0], "config.json") {
		t.Fatalf("directory holds %q, want the one file", names)
	}
	wantContent(t, name, "new", "after the write")
	if runtime.GOOS == "windows" && names[0] != "config.json" {
		t.Errorf("the replace renamed the file to %q", names[0])
	}
}
