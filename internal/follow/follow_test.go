package follow_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/durable-go/durable/internal/errs"
	"github.com/durable-go/durable/internal/follow"
	"github.com/durable-go/durable/vfs"
)

func TestResolve(t *testing.T) {
	m := vfs.NewMem()
	must(t, m.Mkdir("/d", 0o755))
	must(t, vfs.WriteFile(m, "/d/real", []byte("x"), 0o600))
	must(t, m.Symlink("real", "/d/one"))
	must(t, m.Symlink("one", "/d/two"))
	must(t, m.Symlink("loop", "/d/loop"))
	for name, want := range map[string]string{"/d/two": "/d/real", "/d/real": "/d/real", "/d/missing": "/d/missing"} {
		if got, err := follow.Resolve(m, name, false); err != nil || got != filepath.FromSlash(want) {
			t.Errorf("Resolve(%s) = %q, %v, want %q", name, got, err, want)
		}
	}
	if _, err := follow.Resolve(m, "/d/two", true); !errors.Is(err, errs.ErrSymlink) || errors.Is(err, fs.ErrPermission) {
		t.Errorf("refused link: %v, want ErrSymlink alone", err)
	}
	if _, err := follow.Resolve(m, "/d/loop", false); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("loop: %v, want ELOOP", err)
	}
}

// Open on the real filesystem follows an ordinary link at no extra cost
// for a plain file, and reports the name it opened.
func TestOpenFollowsOrdinaryLinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	must(t, os.WriteFile(real, []byte("x"), 0o600))
	link := filepath.Join(dir, "link")
	must(t, os.Symlink("real", link))
	for _, name := range []string{real, link} {
		f, got, err := follow.Open(vfs.OS{}, name, os.O_RDONLY, 0)
		if err != nil || got != real {
			t.Fatalf("Open(%s) = %q, %v, want %q", name, got, err, real)
		}
		f.Close()
	}
	// A dangling link is followed to create its target, as open(2) would.
	dangling := filepath.Join(dir, "dangling")
	must(t, os.Symlink("made", dangling))
	f, got, err := follow.Open(vfs.OS{}, dangling, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil || got != filepath.Join(dir, "made") {
		t.Fatalf("Open(dangling) = %q, %v", got, err)
	}
	f.Close()
	// A chain longer than the kernel's limit.
	prev := "real"
	for i := range 45 {
		name := fmt.Sprint("l", i)
		must(t, os.Symlink(prev, filepath.Join(dir, name)))
		prev = name
	}
	if _, _, err := follow.Open(vfs.OS{}, filepath.Join(dir, prev), os.O_RDONLY, 0); err == nil {
		t.Fatal("a chain of 45 links opened")
	}
}

// In a sticky world-writable directory a link that belongs neither to
// this process nor to the directory's owner is refused; the error says
// both ErrSymlink and permission.
func TestCheck(t *testing.T) {
	const owner, stranger = 4242, 4343
	if me := os.Geteuid(); me == owner || me == stranger {
		t.Skip("the test's uids are this process's")
	}
	m := vfs.NewMem()
	m.SetUmask(0)
	m.SetOwner(owner, owner)
	must(t, m.Mkdir("/tmp", 0o777|fs.ModeSticky))
	must(t, m.Mkdir("/own", 0o755))
	must(t, m.Symlink("/x", "/tmp/owners"))
	m.SetOwner(stranger, stranger)
	must(t, m.Symlink("/x", "/tmp/strangers"))
	must(t, m.Symlink("/x", "/own/strangers"))
	for name, refused := range map[string]bool{"/tmp/owners": false, "/tmp/strangers": true, "/own/strangers": false} {
		fi, err := m.Lstat(name)
		must(t, err)
		err = follow.Check(m, name, fi)
		if got := err != nil; got != refused {
			t.Errorf("%s: %v, want refused %v", name, err, refused)
		}
		if refused && (!errors.Is(err, errs.ErrSymlink) || !errors.Is(err, fs.ErrPermission)) {
			t.Errorf("%s: %v, want ErrSymlink and fs.ErrPermission", name, err)
		}
	}
	if err := follow.Dir(m, "/tmp/strangers"); !errors.Is(err, errs.ErrSymlink) {
		t.Errorf("Dir: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
