package durable_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"
)

// An update of a file from inside an update callback of the same file is
// refused at once with ErrReentrant, whichever two APIs meet there: the
// same-API case is caught by the coalescing queue, the cross-API one by
// the file's in-process lock, which knows the goroutine that holds it.
func TestReentryAcrossAPIsIsRefusedAtOnce(t *testing.T) {
	type fsCase struct {
		name string
		fsys vfs.FS
		dir  func(t *testing.T) string
	}
	fss := []fsCase{
		{"os", vfs.OS{}, func(t *testing.T) string { return testdir.New(t) }},
		{"mem", vfs.NewMem(), func(*testing.T) string { return "/d" }},
	}
	type doc struct{ N int }
	for _, fc := range fss {
		outer := map[string]func(ctx context.Context, name string, fn func()) error{
			"Update": func(ctx context.Context, name string, fn func()) error {
				return durable.UpdateContext(ctx, name, func([]byte) ([]byte, error) { fn(); return []byte("{}"), nil }, durable.WithFS(fc.fsys))
			},
			"store.Update": func(ctx context.Context, name string, fn func()) error {
				s, err := store.Open[doc](name, &store.Options[doc]{FS: fc.fsys})
				if err != nil {
					return err
				}
				_, err = s.Update(ctx, func(d *doc) error { fn(); d.N++; return nil })
				return err
			},
		}
		inner := map[string]func(ctx context.Context, name string) error{
			"Update": func(ctx context.Context, name string) error {
				return durable.UpdateContext(ctx, name, func([]byte) ([]byte, error) { return []byte("{}"), nil }, durable.WithFS(fc.fsys))
			},
			"store.Update": func(ctx context.Context, name string) error {
				s, err := store.Open[doc](name, &store.Options[doc]{FS: fc.fsys})
				if err != nil {
					return err
				}
				_, err = s.Update(ctx, func(d *doc) error { d.N++; return nil })
				return err
			},
			"lock.Mutex": func(ctx context.Context, name string) error {
				m := lock.New(fc.fsys, name)
				defer m.Close()
				h, err := m.Lock(ctx)
				if err == nil {
					h.Unlock()
				}
				return err
			},
		}
		for on, o := range outer {
			for in, i := range inner {
				t.Run(fc.name+"/"+in+" inside "+on, func(t *testing.T) {
					name := filepath.Join(fc.dir(t), on+"-"+in+".json")
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					var innerErr error
					start := time.Now()
					err := o(ctx, name, func() { innerErr = i(ctx, name) })
					if took := time.Since(start); took > 10*time.Second {
						t.Fatalf("took %v: the inner call waited for the outer", took)
					}
					if err != nil {
						t.Fatalf("outer %s: %v", on, err)
					}
					if !errors.Is(innerErr, durable.ErrReentrant) {
						t.Fatalf("inner %s: %v, want ErrReentrant", in, innerErr)
					}
				})
			}
		}
	}
}

// Inside Held.Do, a lock of the same name from the callback's goroutine
// is refused at once; everywhere else a lock is waited for as usual, also
// by the goroutine that took it and handed it to another to release.
func TestLockRefusesOnlyACallbackOfItsHolder(t *testing.T) {
	name := filepath.Join(testdir.New(t), "f")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := lock.Lock(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	h.Do(func() {
		if _, err := lock.Lock(ctx, name); !errors.Is(err, lock.ErrReentrant) {
			t.Errorf("Lock from a callback under the lock: %v, want ErrReentrant", err)
		}
		if _, err := lock.RLock(ctx, name); !errors.Is(err, lock.ErrReentrant) {
			t.Errorf("RLock from a callback under the lock: %v, want ErrReentrant", err)
		}
	})
	// Handed over: another goroutine releases it, and the goroutine that
	// took it waits for that.
	go func() {
		time.Sleep(100 * time.Millisecond)
		h.Unlock()
	}()
	start := time.Now()
	h2, err := lock.Lock(ctx, name)
	if err != nil {
		t.Fatalf("Lock after a hand-off: %v", err)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Fatalf("Lock returned before the holder released it")
	}
	h2.Unlock()
}
