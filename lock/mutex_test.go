package lock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// A Mutex on the real filesystem is the same lock as Lock and TryLock, in
// this process and in others, and keeps its sidecar open between uses.
func TestMutexIsTheSameLock(t *testing.T) {
	name := filepath.Join(testdir.New(t), "data")
	m := New(vfs.OS{}, name)
	defer m.Close()
	for range 3 {
		h, err := m.Lock(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := TryLock(name); !errors.Is(err, ErrLocked) {
			t.Fatalf("TryLock while the Mutex holds: %v, want ErrLocked", err)
		}
		wantOther(t, "try", name, "locked", "while the Mutex holds")
		if err := h.Unlock(); err != nil {
			t.Fatal(err)
		}
		wantOther(t, "try", name, "ok", "after Unlock")
	}
	if _, err := os.Stat(name + Suffix); err != nil {
		t.Fatalf("sidecar: %v", err)
	}
}

func TestMutexExcludesGoroutines(t *testing.T) {
	for _, fsys := range []vfs.FS{vfs.OS{}, vfs.NewMem()} {
		dir := testdir.New(t)
		if _, ok := fsys.(*vfs.MemFS); ok {
			dir = "/d"
		}
		name := filepath.Join(dir, "data")
		a, b := New(fsys, name), New(fsys, name)
		counter := 0
		var wg sync.WaitGroup
		for i := range 16 {
			m := a
			if i%2 == 1 {
				m = b
			}
			wg.Go(func() {
				for range 50 {
					h, err := m.Lock(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					counter++
					h.Unlock()
				}
			})
		}
		wg.Wait()
		if counter != 16*50 {
			t.Fatalf("%T: counter = %d, want %d", fsys, counter, 16*50)
		}
		a.Close()
		b.Close()
	}
}

func TestMutexWaitEndsWithContext(t *testing.T) {
	m := New(vfs.NewMem(), "/x")
	h, err := m.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	other, err := New(vfs.NewMem(), "/x").Lock(ctx)
	if err != nil {
		t.Fatalf("another filesystem's lock of the same name must not conflict: %v", err)
	}
	mustUnlock(t, other)
	if _, err := m.Lock(ctx); !errors.Is(err, ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrLocked and DeadlineExceeded", err)
	}
	h.Unlock()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Lock(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Lock after Close: %v, want ErrClosed", err)
	}
}
