package lock

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/goid"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// A Lock whose ctx names the goroutine (goid.With, as package store does)
// skips the stack walk in Do: differentially against the plain path, Do
// must refuse the same re-entry and let the same other waiters wait.
func TestDoWithGoroutineFromContextMatchesPlainPath(t *testing.T) {
	for _, tagged := range []bool{false, true} {
		name := filepath.Join(testdir.New(t), "f")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		lctx := ctx
		if tagged {
			lctx = goid.With(ctx, goid.ID())
		}
		m := New(vfs.OS{}, name)
		h, err := m.Lock(lctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]uint64{false: 0, true: goid.ID()}[tagged]; h.doG != want {
			t.Fatalf("tagged=%v: doG = %d, want %d", tagged, h.doG, want)
		}
		h.Do(func() {
			m2 := New(vfs.OS{}, name)
			defer m2.Close()
			if _, err := m2.Lock(ctx); !errors.Is(err, ErrReentrant) {
				t.Errorf("tagged=%v: Mutex.Lock from the callback: %v, want ErrReentrant", tagged, err)
			}
			if _, err := Lock(ctx, name); !errors.Is(err, ErrReentrant) {
				t.Errorf("tagged=%v: Lock from the callback: %v, want ErrReentrant", tagged, err)
			}
			// Another goroutine is no re-entry: it waits, here until its
			// short deadline.
			done := make(chan error)
			go func() {
				short, c := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer c()
				_, err := Lock(short, name)
				done <- err
			}()
			if err := <-done; !errors.Is(err, ErrLocked) || errors.Is(err, ErrReentrant) {
				t.Errorf("tagged=%v: Lock from another goroutine: %v, want ErrLocked after waiting", tagged, err)
			}
		})
		if err := h.Unlock(); err != nil {
			t.Fatal(err)
		}
		m.Close()
		cancel()
	}
}
