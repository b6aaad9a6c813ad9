//go:build unix

package vfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/durable-go/durable/vfs"
)

// TestNoFollow: O_NOFOLLOW refuses a link at the end of the name on the
// real filesystem and on the model alike, and creates nothing where a
// dangling link points.
func TestNoFollow(t *testing.T) {
	osDir := t.TempDir()
	for _, tc := range []struct {
		name string
		fsys vfs.FS
		dir  string
		link func(target, name string) error
	}{
		{"OS", vfs.OS{}, osDir, os.Symlink},
		{"Mem", vfs.NewMem(), "/", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			link := tc.link
			if link == nil {
				link = tc.fsys.(*vfs.MemFS).Symlink
			}
			file := filepath.Join(tc.dir, "file")
			if err := vfs.WriteFile(tc.fsys, file, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := link(file, filepath.Join(tc.dir, "link")); err != nil {
				t.Fatal(err)
			}
			if err := link(filepath.Join(tc.dir, "made"), filepath.Join(tc.dir, "dangling")); err != nil {
				t.Fatal(err)
			}
			_, err := tc.fsys.OpenFile(filepath.Join(tc.dir, "link"), os.O_RDONLY|vfs.O_NOFOLLOW, 0)
			if !errors.Is(err, syscall.ELOOP) && !errors.Is(err, syscall.EMLINK) {
				t.Errorf("open of a link: %v, want ELOOP", err)
			}
			_, err = tc.fsys.OpenFile(filepath.Join(tc.dir, "dangling"), os.O_RDWR|os.O_CREATE|vfs.O_NOFOLLOW, 0o644)
			if err == nil {
				t.Errorf("created through a dangling link")
			}
			if _, err := tc.fsys.Lstat(filepath.Join(tc.dir, "made")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the link's target: %v, want it not to exist", err)
			}
			f, err := tc.fsys.OpenFile(file, os.O_RDONLY|vfs.O_NOFOLLOW, 0)
			if err != nil {
				t.Fatalf("open of a plain file: %v", err)
			}
			f.Close()
		})
	}
}

// TestNonBlockOpen: O_NONBLOCK opens a FIFO without waiting for a writer,
// and leaves a regular file in blocking mode.
func TestNonBlockOpen(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := vfs.OS{}.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("open of a FIFO with O_NONBLOCK hung")
	}

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := vfs.OS{}.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.FcntlInt(f.(*os.File).Fd(), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.O_NONBLOCK != 0 {
		t.Error("a regular file opened with O_NONBLOCK stayed non-blocking")
	}
}
