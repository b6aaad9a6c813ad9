package durable_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// An Updater hands fn the slice it last published while the file holds
// exactly that, and the file's real content as soon as anyone else changed
// it: in place with the same size right after the update, or by a replace.
func TestUpdaterSeesOtherWriters(t *testing.T) {
	p := filepath.Join(testdir.New(t), "doc")
	u := durable.NewUpdater(p)
	defer u.Close()
	ctx := context.Background()
	same := func(a, b []byte) bool { return len(a) > 0 && unsafe.SliceData(a) == unsafe.SliceData(b) }

	var mine []byte
	if err := u.Update(ctx, func(old []byte) ([]byte, error) {
		if old != nil {
			t.Errorf("old = %q for a missing file", old)
		}
		mine = []byte("version 1")
		return mine, nil
	}); err != nil {
		t.Fatal(err)
	}
	check := func(want string, wantMine bool) {
		t.Helper()
		err := u.Update(ctx, func(old []byte) ([]byte, error) {
			if string(old) != want || same(old, mine) != wantMine {
				t.Errorf("old = %q (the published slice: %v), want %q (%v)", old, same(old, mine), want, wantMine)
			}
			return nil, durable.ErrNoChange
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check("version 1", true)
	// Another writer, in place, same size, at once: only the content tells.
	if err := os.WriteFile(p, []byte("version 2"), 0o600); err != nil {
		t.Fatal(err)
	}
	check("version 2", false)
	if err := u.Update(ctx, func(old []byte) ([]byte, error) {
		mine = append(bytes.Clone(old), '!')
		return mine, nil
	}); err != nil {
		t.Fatal(err)
	}
	check("version 2!", true)
	if err := durable.WriteFile(p, []byte("version 3!"), 0o600); err != nil {
		t.Fatal(err)
	}
	check("version 3!", false)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	check("", false)
}

// An Updater and the function Update exclude each other, on the real
// filesystem and on the in-memory one.
func TestUpdaterExcludesUpdate(t *testing.T) {
	for _, fsys := range []vfs.FS{vfs.OS{}, vfs.NewMem()} {
		dir := "/x"
		if _, ok := fsys.(vfs.OS); ok {
			dir = testdir.New(t)
		}
		p := filepath.Join(dir, "doc")
		u := durable.NewUpdater(p, durable.WithFS(fsys))
		err := u.Update(context.Background(), func([]byte) ([]byte, error) {
			other := func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				defer cancel()
				return durable.UpdateContext(ctx, p, func([]byte) ([]byte, error) { return []byte("other"), nil }, durable.WithFS(fsys))
			}
			// From another goroutine: it waits, and times out.
			done := make(chan error, 1)
			go func() { done <- other() }()
			if err := <-done; !errors.Is(err, durable.ErrLocked) {
				t.Errorf("%T: Update while an Updater holds the lock: err = %v, want ErrLocked", fsys, err)
			}
			// From this very callback: it would wait for itself.
			if err := other(); !errors.Is(err, durable.ErrReentrant) {
				t.Errorf("%T: Update from the Updater's own callback: err = %v, want ErrReentrant", fsys, err)
			}
			return []byte("mine"), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := vfs.ReadFile(fsys, p); string(b) != "mine" {
			t.Errorf("%T: file holds %q", fsys, b)
		}
		if err := u.Close(); err != nil {
			t.Fatal(err)
		}
		if err := u.Update(context.Background(), func([]byte) ([]byte, error) { return nil, nil }); !errors.Is(err, durable.ErrClosed) {
			t.Errorf("Update after Close: err = %v, want ErrClosed", err)
		}
	}
}
