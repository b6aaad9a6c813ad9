//go:build windows

package vfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
)

// Every open of OS shares delete access, writes included: another
// process can rename or delete a file that durable holds open. The same
// moves fail while os.OpenFile's handle (no FILE_SHARE_DELETE) is open,
// which shows the test can tell.
func TestOpenSharesDelete(t *testing.T) {
	dir := testdir.New(t)
	for _, tc := range []struct {
		name string
		flag int
	}{
		{"read", os.O_RDONLY},
		{"write", os.O_WRONLY},
		{"readwrite", os.O_RDWR},
		{"create", os.O_RDWR | os.O_CREATE},
		{"exclusive", os.O_RDWR | os.O_CREATE | os.O_EXCL},
		{"append", os.O_WRONLY | os.O_APPEND | os.O_CREATE},
		{"truncate", os.O_RDWR | os.O_TRUNC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := filepath.Join(dir, tc.name)
			if tc.flag&os.O_EXCL == 0 {
				if err := os.WriteFile(name, []byte("data"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := OS{}.OpenFile(name, tc.flag, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			moved := name + ".moved"
			if err := os.Rename(name, moved); err != nil {
				t.Fatalf("rename while durable holds the file: %v", err)
			}
			if err := os.Remove(moved); err != nil {
				t.Fatalf("remove while durable holds the file: %v", err)
			}
		})
	}

	name := filepath.Join(dir, "theirs")
	if err := os.WriteFile(name, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	theirs, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer theirs.Close()
	if err := os.Rename(name, name+".moved"); err == nil {
		t.Fatal("renamed a file held without FILE_SHARE_DELETE: the test cannot tell")
	}
}

// OpenFile keeps os.OpenFile's semantics: O_EXCL refuses an existing
// name, O_TRUNC empties, O_APPEND appends, a read-only perm makes a
// read-only file, and a directory opens for reading only.
func TestOpenFileFlags(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "f")
	if err := os.WriteFile(name, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (OS{}).OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("O_EXCL on an existing file: %v", err)
	}
	f, err := OS{}.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("de"))
	f.Close()
	if b, _ := os.ReadFile(name); string(b) != "abcde" {
		t.Fatalf("after append: %q", b)
	}
	f, err = OS{}.OpenFile(name, os.O_RDWR|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if b, _ := os.ReadFile(name); len(b) != 0 {
		t.Fatalf("after O_TRUNC: %q", b)
	}
	ro := filepath.Join(dir, "ro")
	f, err = OS{}.OpenFile(ro, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() { os.Chmod(ro, 0o644) })
	if fi, err := os.Stat(ro); err != nil || fi.Mode().Perm()&0o200 != 0 {
		t.Fatalf("mode %v, %v: want read-only", fi.Mode(), err)
	}
	if _, err := (OS{}).OpenFile(dir, os.O_RDWR, 0); err == nil {
		t.Fatal("opened a directory for writing")
	}
	d, err := OS{}.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := (OS{}).OpenFile(filepath.Join(dir, "missing"), os.O_RDONLY, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// A rename that cannot succeed by waiting fails at once: a directory
// target (ERROR_ACCESS_DENIED from Windows, reported as fs.ErrExist as on
// Unix) and a missing source are not sharing errors.
func TestRenameNotRetried(t *testing.T) {
	dir := testdir.New(t)
	from := filepath.Join(dir, "from")
	if err := os.WriteFile(from, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from, to string
		want     error
	}{
		{from, sub, fs.ErrExist},
		{filepath.Join(dir, "missing"), filepath.Join(dir, "to"), fs.ErrNotExist},
	} {
		start := time.Now()
		err := rename(tc.from, tc.to)
		if took := time.Since(start); took > renameRetryFor/4 {
			t.Errorf("rename %s -> %s took %v: retried", tc.from, tc.to, took)
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("rename %s -> %s: %v, want %v", tc.from, tc.to, err, tc.want)
		}
	}
	if b, err := os.ReadFile(from); err != nil || string(b) != "x" {
		t.Fatalf("source changed: %q, %v", b, err)
	}
}

// A sharing violation is waited out: a holder without FILE_SHARE_DELETE
// that lets go within the retry window does not make the rename fail.
// One that never lets go makes it fail after the window, saying why.
func TestRenameWaitsForSharing(t *testing.T) {
	dir := testdir.New(t)
	from, to := filepath.Join(dir, "from"), filepath.Join(dir, "to")
	for _, n := range []string{from, to} {
		if err := os.WriteFile(n, []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	theirs, err := os.Open(to)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = rename(from, to)
	took := time.Since(start)
	if err == nil {
		theirs.Close()
		t.Skip("the target was replaced while held without delete sharing (not Windows as documented)")
	}
	if took < renameRetryFor {
		t.Errorf("gave up after %v, want about %v", took, renameRetryFor)
	}
	if errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v", err)
	}
	t.Logf("held for good: %v after %v", err, took)
	go func() {
		time.Sleep(200 * time.Millisecond)
		theirs.Close()
	}()
	if err := rename(from, to); err != nil {
		t.Fatalf("holder let go after 200ms: %v", err)
	}
	if b, _ := os.ReadFile(to); string(b) != from {
		t.Fatalf("target holds %q", b)
	}
}

// syncDir flushes a file it makes in the directory and leaves nothing
// behind; a missing directory or a file is an error.
func TestSyncDirLeavesNothing(t *testing.T) {
	dir := testdir.New(t)
	if err := syncDir(dir); err != nil {
		t.Fatal(err)
	}
	if es, err := os.ReadDir(dir); err != nil || len(es) != 0 {
		t.Fatalf("left %v, %v", es, err)
	}
	if err := syncDir(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing directory: %v", err)
	}
	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o644)
	if err := syncDir(f); err == nil {
		t.Fatal("synced a file as a directory")
	}
}

// The file syncDir makes is named like durable's temp files
// (".<name>.<12 base32 characters>.tmp"), so that CleanTemp and fsck
// remove one that a crash leaves behind.
func TestSyncFileNameShape(t *testing.T) {
	shape := regexp.MustCompile(`^\.dirsync\.[a-z2-7]{12}\.tmp$`)
	seen := map[string]bool{}
	for range 100 {
		n := syncFileName()
		if !shape.MatchString(n) {
			t.Fatalf("%q is not a temp file name", n)
		}
		seen[n] = true
	}
	if len(seen) < 100 {
		t.Fatalf("%d distinct names in 100", len(seen))
	}
}
