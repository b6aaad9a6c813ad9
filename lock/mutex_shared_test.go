package lock

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// A Mutex has every lock the package-level functions have, and on the OS
// filesystem they are one lock: shared holders share, exclusive ones
// exclude everyone, whichever API took them. On the in-memory model the
// same rules hold between Mutexes of one name.
func TestMutexSharedAndTry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type api struct {
		lock, rlock       func() (*Held, error)
		tryLock, tryRLock func() (*Held, error)
	}
	osName := filepath.Join(testdir.New(t), "data")
	mem := vfs.NewMem()
	if err := mem.Mkdir("/d", 0o700); err != nil {
		t.Fatal(err)
	}
	mutex := func(fsys vfs.FS, name string) api {
		m := New(fsys, name)
		t.Cleanup(func() { m.Close() })
		return api{
			lock:     func() (*Held, error) { return m.Lock(ctx) },
			rlock:    func() (*Held, error) { return m.RLock(ctx) },
			tryLock:  m.TryLock,
			tryRLock: m.TryRLock,
		}
	}
	pkg := api{
		lock:     func() (*Held, error) { return Lock(ctx, osName) },
		rlock:    func() (*Held, error) { return RLock(ctx, osName) },
		tryLock:  func() (*Held, error) { return TryLock(osName) },
		tryRLock: func() (*Held, error) { return TryRLock(osName) },
	}
	for _, c := range []struct {
		name string
		a, b api
	}{
		{"os: mutex and functions", mutex(vfs.OS{}, osName), pkg},
		{"os: functions and mutex", pkg, mutex(vfs.OS{}, osName)},
		{"mem: two mutexes", mutex(mem, "/d/data"), mutex(mem, "/d/data")},
	} {
		t.Run(c.name, func(t *testing.T) {
			must := func(h *Held, err error) *Held {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				return h
			}
			locked := func(what string, h *Held, err error) {
				t.Helper()
				if !errors.Is(err, ErrLocked) {
					if h != nil {
						h.Unlock()
					}
					t.Errorf("%s: %v, want ErrLocked", what, err)
				}
			}
			r1 := must(c.a.rlock())
			r2 := must(c.b.tryRLock())
			h, err := c.b.tryLock()
			locked("TryLock while shared holders hold", h, err)
			h, err = c.a.tryLock()
			locked("TryLock of the other API while shared holders hold", h, err)
			must(nil, r1.Unlock())
			must(nil, r2.Unlock())
			x := must(c.a.lock())
			h, err = c.b.tryRLock()
			locked("TryRLock while an exclusive holder holds", h, err)
			h, err = c.b.tryLock()
			locked("TryLock while an exclusive holder holds", h, err)
			must(nil, x.Unlock())
			y := must(c.b.tryLock())
			must(nil, y.Unlock())
		})
	}
}

// A closed Mutex refuses every lock.
func TestMutexClosedRefuses(t *testing.T) {
	m := New(vfs.NewMem(), "/x")
	m.Close()
	for name, f := range map[string]func() (*Held, error){
		"Lock":     func() (*Held, error) { return m.Lock(context.Background()) },
		"RLock":    func() (*Held, error) { return m.RLock(context.Background()) },
		"TryLock":  m.TryLock,
		"TryRLock": m.TryRLock,
	} {
		if h, err := f(); !errors.Is(err, ErrClosed) {
			if h != nil {
				h.Unlock()
			}
			t.Errorf("%s on a closed Mutex: %v, want ErrClosed", name, err)
		}
	}
}
