package durable_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// Backups(n) keeps the n previous versions, newest as name.bak.1, and
// drops older ones; an unnumbered name.bak of an earlier release is left
// as it is.
func TestBackupsRotate(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "state.json")
	if err := os.WriteFile(name+".bak", []byte("legacy"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 6; i++ {
		if err := durable.WriteFile(name, []byte(fmt.Sprint("v", i)), 0o600, durable.Backups(3)); err != nil {
			t.Fatal(err)
		}
	}
	for n, want := range map[int]string{1: "v5", 2: "v4", 3: "v3"} {
		if got := testdir.ReadString(t, durable.BackupName(name, n)); got != want {
			t.Errorf("bak.%d = %q, want %q", n, got, want)
		}
	}
	if _, err := os.Lstat(durable.BackupName(name, 4)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("bak.4 exists with Backups(3): %v", err)
	}
	if got := testdir.ReadString(t, name+".bak"); got != "legacy" {
		t.Errorf("the legacy backup became %q", got)
	}
	// Fewer backups later: the ones beyond are left, the newest shift.
	if err := durable.WriteFile(name, []byte("v7"), 0o600, durable.Backup()); err != nil {
		t.Fatal(err)
	}
	if got := testdir.ReadString(t, durable.BackupName(name, 1)); got != "v6" {
		t.Errorf("Backup after Backups(3): bak.1 = %q", got)
	}
	// Backups(0) keeps none and touches none.
	if err := durable.WriteFile(name, []byte("v8"), 0o600, durable.Backups(0)); err != nil {
		t.Fatal(err)
	}
	if got := testdir.ReadString(t, durable.BackupName(name, 1)); got != "v6" {
		t.Errorf("Backups(0) changed bak.1 to %q", got)
	}
	noTemps(t, dir)
}

// A crash at any step of a rotation of three backups leaves the target
// old or new, every backup a good version, none of the old backups lost,
// and, once the new version is visible, bak.1 holding the one it replaced.
func TestCrashBackupsRotate(t *testing.T) {
	const name = "/etc/app.conf"
	const v0 = "version 0\n"
	m := memWith(map[string]string{name: v2, name + ".bak.1": v1, name + ".bak.2": v0})
	during, after, err := crashEveryStep(m, func(fsys vfs.FS) error {
		return durable.WriteFile(name, []byte(v3), 0o600, durable.WithFS(fsys), durable.Backups(3))
	})
	if err != nil {
		t.Fatal(err)
	}
	invariant := func(s crashState) error {
		c := content(t, s.fs, name)
		if !oneOf(c, v2, v3) {
			return fmt.Errorf("target is neither old nor new: %.30q", c)
		}
		for n := 1; n <= 3; n++ {
			b := content(t, s.fs, durable.BackupName(name, n))
			if b != "<absent>" && !oneOf(b, v0, v1, v2) {
				return fmt.Errorf("bak.%d is not a good version: %.30q", n, b)
			}
		}
		// No version a backup held is lost on the way (Backups(3) has
		// room for both).
		for _, old := range []string{v0, v1} {
			kept := false
			for n := 1; n <= 3; n++ {
				kept = kept || content(t, s.fs, durable.BackupName(name, n)) == old
			}
			if !kept {
				return fmt.Errorf("the backup %.12q is in no backup any more", old)
			}
		}
		if c == v3 && content(t, s.fs, name+".bak.1") != v2 {
			return fmt.Errorf("new version visible but bak.1 is %.30q", content(t, s.fs, name+".bak.1"))
		}
		return nil
	}
	checkStates(t, during, invariant)
	checkStates(t, after, func(s crashState) error {
		got := []string{content(t, s.fs, name), content(t, s.fs, name+".bak.1"), content(t, s.fs, name+".bak.2"), content(t, s.fs, name+".bak.3")}
		if got[0] != v3 || got[1] != v2 || got[2] != v1 || got[3] != v0 {
			return fmt.Errorf("returned, but after a crash: %.20q", got)
		}
		return nil
	})
}

// Every name BackupName makes is recognised by ParseBackupName, with its
// file and number; temp names likewise; and neither takes the other's, or
// the file's own name.
func TestNameClassifiers(t *testing.T) {
	for _, of := range []string{"a", "state.json", "dir/x.bak", "/abs/y.bak.2", ".hidden", "with space.txt", "über.json"} {
		for _, n := range []int{1, 2, 9, 10, 123} {
			b := durable.BackupName(of, n)
			if got, gn, ok := durable.ParseBackupName(b); !ok || got != of || gn != n {
				t.Errorf("ParseBackupName(%q) = %q, %d, %v; want %q, %d", b, got, gn, ok, of, n)
			}
			if _, ok := durable.ParseTempName(filepath.Base(b)); ok {
				t.Errorf("%q is taken for a temp file", b)
			}
		}
		if got, n, ok := durable.ParseBackupName(of + ".bak"); !ok || got != of || n != 0 {
			t.Errorf("the legacy %q.bak: %q, %d, %v", of, got, n, ok)
		}
	}
	for _, bad := range []string{"x", "x.bak.", "x.bak.0", "x.bak.01", "x.bak.1a", "x.bak.-1", ".bak", ".bak.1", "dir/.bak.1", "dir/.bak", "x.bak.99999999999"} {
		if of, n, ok := durable.ParseBackupName(bad); ok {
			t.Errorf("ParseBackupName(%q) = %q, %d: not a backup's name", bad, of, n)
		}
	}
	// The temp files a write really makes.
	dir := testdir.New(t)
	long := strings.Repeat("é", 120) // 240 bytes: the temp name cuts it to 200
	for _, base := range []string{"a", "state.json", ".hidden", "x.bak.1", long} {
		p, err := durable.Create(filepath.Join(dir, base), 0o600)
		if err != nil {
			t.Fatal(err)
		}
		ents, _ := os.ReadDir(dir)
		found := false
		for _, e := range ents {
			if target, ok := durable.ParseTempName(e.Name()); ok {
				found = true
				want := base
				if base == long {
					want = long[:200]
				}
				if target != want {
					t.Errorf("ParseTempName(%q) = %q, want %q", e.Name(), target, want)
				}
			} else if e.Name() != base && !isBackupOrFile(e.Name()) {
				t.Errorf("%q is not recognised as a temp file", e.Name())
			}
		}
		if !found {
			t.Errorf("no temp file recognised while writing %s", base)
		}
		p.Cleanup()
	}
	for _, bad := range []string{"a.tmp", ".a.tmp", ".a.ABCDEFGHIJKL.tmp", ".a.abcdefghijk.tmp", "a.abcdefghijkl.tmp", "..abcdefghijkl.tmp"} {
		if target, ok := durable.ParseTempName(bad); ok {
			t.Errorf("ParseTempName(%q) = %q: not a temp file's name", bad, target)
		}
	}
}

func isBackupOrFile(name string) bool {
	_, _, ok := durable.ParseBackupName(name)
	return ok
}
