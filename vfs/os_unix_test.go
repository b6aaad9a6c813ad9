//go:build unix

package vfs_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// OS opens files with open(2) and os.NewFile; the File must still behave as
// one from os.OpenFile: O_APPEND appends and refuses WriteAt, and a missing
// file is a *PathError wrapping ErrNotExist.
func TestOSOpenFileLikeOS(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "a")
	if err := os.WriteFile(name, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := vfs.OS{}.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("z"), 0); err == nil {
		t.Error("WriteAt on an O_APPEND file succeeded")
	}
	f.Close()
	if got, _ := os.ReadFile(name); string(got) != "xy" {
		t.Errorf("file = %q, want %q", got, "xy")
	}
	_, err = vfs.OS{}.OpenFile(filepath.Join(dir, "missing"), os.O_RDONLY, 0)
	if pe, ok := err.(*os.PathError); !ok || !os.IsNotExist(err) || pe.Op != "open" {
		t.Errorf("missing file: err = %#v", err)
	}
	// The mode argument is the file's, less the umask.
	g, err := vfs.OS{}.OpenFile(filepath.Join(dir, "b"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if fi, err := g.Stat(); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode = %v, %v; want 0600", fi.Mode(), err)
	}
}

// Links counts a file's names on the real filesystem and in the model.
func TestLinks(t *testing.T) {
	dir := testdir.New(t)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for want := uint64(1); want <= 2; want++ {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := vfs.Links(fi); !ok || n != want {
			t.Fatalf("Links = %d, %v; want %d", n, ok, want)
		}
		if err := os.Link(p, filepath.Join(dir, "g")); err != nil && want == 1 {
			t.Fatal(err)
		}
	}
	m := vfs.NewMem()
	if err := vfs.WriteFile(m, "/f", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Link("/f", "/g"); err != nil {
		t.Fatal(err)
	}
	fi, err := m.Stat("/f")
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := vfs.Links(fi); !ok || n != 2 {
		t.Fatalf("model: Links = %d, %v; want 2", n, ok)
	}
}
