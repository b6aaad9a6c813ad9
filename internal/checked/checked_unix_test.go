//go:build unix

package checked

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestOpenRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("v"), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, os.Symlink(outside, filepath.Join(dir, "link")))
	must(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o666))
	must(t, os.Mkdir(filepath.Join(dir, "dir"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "file"), []byte("f"), 0o644))
	d, err := OpenDir(dir)
	must(t, err)
	defer d.Close()
	for _, name := range []string{"link", "fifo", "dir"} {
		// A FIFO with no writer would block an open for reading for ever
		// without O_NONBLOCK: the test would hang rather than fail.
		f, err := d.Open(name, os.O_RDONLY)
		if !errors.Is(err, ErrNotRegular) && !errors.Is(err, syscall.EISDIR) {
			t.Errorf("Open(%s) = %v, %v; want ErrNotRegular", name, f, err)
		}
		if f != nil {
			f.Close()
		}
	}
	f, err := d.Open("file", os.O_RDWR|os.O_APPEND)
	must(t, err)
	f.Close()
	for _, name := range []string{"", ".", "..", "a/b"} {
		if _, err := d.Open(name, os.O_RDONLY); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Open(%q) = %v; want fs.ErrInvalid", name, err)
		}
	}
}

func TestRemoveOnlyWhatWasChecked(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	must(t, os.WriteFile(p, []byte("1"), 0o644))
	checkedInfo, err := os.Lstat(p)
	must(t, err)
	// Replaced by another file under the same name: not removed. (The
	// checked file is kept under another name, so that its inode is not
	// reused.)
	must(t, os.Rename(p, filepath.Join(dir, "kept")))
	must(t, os.WriteFile(filepath.Join(dir, "g"), []byte("2"), 0o644))
	must(t, os.Rename(filepath.Join(dir, "g"), p))
	d, err := OpenDir(dir)
	must(t, err)
	defer d.Close()
	if err := d.Remove("f", checkedInfo); !errors.Is(err, ErrChanged) {
		t.Fatalf("Remove of a replaced file = %v; want ErrChanged", err)
	}
	if _, err := os.Lstat(p); err != nil {
		t.Fatalf("the replacement was removed: %v", err)
	}
	// Replaced by a link to the file that was checked: not removed either.
	must(t, os.Remove(p))
	target := filepath.Join(t.TempDir(), "t")
	must(t, os.WriteFile(target, []byte("t"), 0o644))
	ti, err := os.Lstat(target)
	must(t, err)
	must(t, os.Symlink(target, p))
	if err := d.Remove("f", ti); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Remove of a link = %v; want ErrNotRegular", err)
	}
	// The file itself: removed.
	must(t, os.Remove(p))
	must(t, os.WriteFile(p, []byte("3"), 0o644))
	fi, err := os.Lstat(p)
	must(t, err)
	must(t, d.Remove("f", fi))
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("not removed: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
