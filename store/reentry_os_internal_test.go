package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/goid"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// TestStoreReentryOnOSIsRefused: on the OS the store marks only its
// callbacks as the batch's user code, naming the goroutine with a thread
// token (pinsCallbacks). Every callback is still covered: an Update of the
// same document from the update function, from Validate and from
// OnRecover fails at once with ErrReentrant, as does a lock of the file;
// and the mark names that goroutine alone: another goroutine's update and
// lock made while a callback runs wait for it and succeed, before and
// after.
func TestStoreReentryOnOSIsRefused(t *testing.T) {
	path := filepath.Join(testdir.New(t), "doc.json")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var s *Store[count]
	var fromValidate, fromRecover error
	validating := false
	var err error
	s, err = Open(path, &Options[count]{
		Validate: func(c count) error {
			if validating {
				_, fromValidate = s.Update(ctx, inc)
			}
			return nil
		},
		OnRecover: func(*RecoveredError) { _, fromRecover = s.Update(ctx, inc) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !s.pinsCallbacks() && goid.Cheap() {
		t.Fatal("the store on the OS marks its whole run")
	}
	if _, err := s.Update(ctx, inc); err != nil { // N = 1, a backup to come
		t.Fatal(err)
	}

	start := time.Now()
	var same, other, locked error
	_, err = s.Update(ctx, func(c *count) error {
		_, same = s.Update(ctx, inc)
		_, _, other = durable.ReadRev(path) // reads need no lock: fine
		m := lock.New(vfs.OS{}, path)
		defer m.Close()
		if h, err := m.Lock(ctx); err == nil {
			h.Unlock()
		} else {
			locked = err
		}
		c.N = 10
		return nil
	})
	if err != nil || !errors.Is(same, durable.ErrReentrant) || other != nil || !errors.Is(locked, lock.ErrReentrant) {
		t.Fatalf("outer %v; inner update %v, read %v, lock %v", err, same, other, locked)
	}

	validating = true
	if _, err := s.Update(ctx, inc); err != nil || !errors.Is(fromValidate, durable.ErrReentrant) {
		t.Fatalf("update %v; from Validate %v", err, fromValidate)
	}
	validating = false

	// Another goroutine is not the callback's: it waits, then goes on.
	entered, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := s.Update(ctx, func(c *count) error {
			close(entered)
			<-release
			return inc(c)
		})
		done <- err
	}()
	<-entered
	otherDone := make(chan error, 2)
	go func() { _, err := s.Update(ctx, inc); otherDone <- err }()
	go func() {
		m := lock.New(vfs.OS{}, path)
		defer m.Close()
		h, err := m.Lock(ctx)
		if err == nil {
			err = h.Unlock()
		}
		otherDone <- err
	}()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-otherDone; err != nil {
			t.Fatalf("another goroutine was refused: %v", err)
		}
	}
	if c, _, err := s.Get(); err != nil || c.N != 13 {
		t.Fatalf("N = %d (%v), want 13", c.N, err)
	}

	// A corrupt file, recovered from its backup by an Update: OnRecover
	// runs as a callback too.
	if err := os.WriteFile(path, []byte("{torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, inc); err != nil || !errors.Is(fromRecover, durable.ErrReentrant) {
		t.Fatalf("update %v; from OnRecover %v", err, fromRecover)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("took %v: a call waited for itself", took)
	}
}
