package lock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

type funcFS struct {
	vfs.FS
	hook func()
}

type osWrapper struct{ vfs.OS }

// Filesystem values that wrap one filesystem, or cannot be compared, still
// exclude each other: a Mutex never ends up private to itself.
func TestMutexExcludesAcrossWrappers(t *testing.T) {
	m := vfs.NewMem()
	for _, pair := range [][2]vfs.FS{
		{m, vfs.Inject(m)},
		{vfs.Inject(m), vfs.Inject(m)},
		{funcFS{m, nil}, funcFS{m, nil}},
	} {
		a, b := New(pair[0], "/f"), New(pair[1], "/f")
		h, err := a.Lock(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		if _, err := b.Lock(ctx); !errors.Is(err, ErrLocked) {
			t.Fatalf("%T and %T: the second lock got %v, want ErrLocked", pair[0], pair[1], err)
		}
		cancel()
		h.Unlock()
		a.Close()
		b.Close()
	}
}

// A wrapper of the real filesystem takes the real, cross-process lock when
// it is a vfs.Wrapper, and is refused when it does not say what it wraps.
func TestMutexOnWrappersOfOS(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "f")
	m := New(vfs.Inject(vfs.OS{}), name)
	h, err := m.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name + Suffix); err != nil {
		t.Fatalf("no sidecar: the lock was not taken on the real file: %v", err)
	}
	// The package-level lock (the same cross-process lock) sees it held.
	if _, err := TryLock(name); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock while the injector's Mutex holds it: %v", err)
	}
	h.Unlock()
	m.Close()
	for _, fsys := range []vfs.FS{osWrapper{}, funcFS{vfs.OS{}, nil}} {
		m := New(fsys, filepath.Join(dir, "g"))
		if _, err := m.Lock(context.Background()); !errors.Is(err, ErrUnsupportedFS) {
			t.Fatalf("%T: %v, want ErrUnsupportedFS", fsys, err)
		}
		m.Close()
	}
}
