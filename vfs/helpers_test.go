package vfs_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// tree describes everything under dir through the FS interface alone, with
// file contents, so that two filesystems can be compared.
func tree(t *testing.T, fsys vfs.FS, dir string) string {
	t.Helper()
	var b strings.Builder
	var walk func(dir string)
	walk = func(dir string) {
		list, err := fsys.ReadDir(dir)
		if err != nil {
			t.Fatalf("ReadDir(%s): %v", dir, err)
		}
		for _, d := range list {
			p := path.Join(dir, d.Name())
			fi, err := fsys.Lstat(p)
			if err != nil {
				t.Fatalf("Lstat(%s): %v", p, err)
			}
			switch {
			case fi.IsDir():
				fmt.Fprintf(&b, "%s/ %v\n", p, fi.Mode())
				walk(p)
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := fsys.Readlink(p)
				if err != nil {
					t.Fatalf("Readlink(%s): %v", p, err)
				}
				fmt.Fprintf(&b, "%s -> %s\n", p, target)
			default:
				data, err := vfs.ReadFile(fsys, p)
				if err != nil {
					t.Fatalf("ReadFile(%s): %v", p, err)
				}
				fmt.Fprintf(&b, "%s %q %v\n", p, data, fi.Mode())
			}
		}
	}
	walk(dir)
	return b.String()
}

// content returns a file's content, or ok false when it does not exist.
func content(t *testing.T, fsys vfs.FS, name string) (data string, ok bool) {
	t.Helper()
	b, err := vfs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatalf("ReadFile(%s): %v", name, err)
	}
	return string(b), true
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFileT(t *testing.T, fsys vfs.FS, name, data string) {
	t.Helper()
	must(t, vfs.WriteFile(fsys, name, []byte(data), 0o644))
}

// syncFile fsyncs an existing file's data.
func syncFile(t *testing.T, fsys vfs.FS, name string) {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	must(t, err)
	must(t, f.Sync())
	must(t, f.Close())
}

// replace is the durable replace protocol, or a broken variant of it:
// write a temp file, fsync it (unless skipFsync), rename it over name and
// fsync the directory. Every error is returned, and before the rename the
// temp file is removed on failure.
func replace(fsys vfs.FS, name, data string, skipFsync bool) (err error) {
	tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".tmp")
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if err != nil && !renamed {
			fsys.Remove(tmp)
		}
	}()
	n, err := f.Write([]byte(data))
	if err == nil && n < len(data) {
		err = fmt.Errorf("short write: %d of %d bytes", n, len(data))
	}
	if err == nil && !skipFsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := fsys.Rename(tmp, name); err != nil {
		return err
	}
	renamed = true // from here on the temp name is not ours to remove
	return fsys.SyncDir(filepath.Dir(name))
}

// memWithDurable returns a model holding the file name with data, synced:
// every crash keeps it.
func memWithDurable(t *testing.T, name, data string) *vfs.MemFS {
	t.Helper()
	m := vfs.NewMem()
	writeFileT(t, m, name, data)
	m.SyncAll()
	return m
}

// openDurable is memWithDurable with the file opened with flag.
func openDurable(t *testing.T, name, data string, flag int) (*vfs.MemFS, vfs.File) {
	t.Helper()
	m := memWithDurable(t, name, data)
	f, err := m.OpenFile(name, flag, 0)
	must(t, err)
	return m, f
}
