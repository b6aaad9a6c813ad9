package store

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/vfs"
)

// The rules of the concurrency layer (internal/group), through Store.

type count struct{ N int }

func openCount(t *testing.T, fsys vfs.FS, o *Options[count]) *Store[count] {
	t.Helper()
	if o == nil {
		o = &Options[count]{}
	}
	o.FS = fsys
	s, err := Open("/c.json", o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func waitStoreQueued(t *testing.T, s *Store[count], n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.waiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d updates queued, want %d", s.waiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// blockStore starts an Update that sets N to 1 and holds its batch until
// release is called.
func blockStore(s *Store[count]) (release func(), done <-chan error) {
	in, out := make(chan struct{}), make(chan struct{})
	ch := make(chan error, 1)
	go func() {
		_, err := s.Update(context.Background(), func(c *count) error {
			close(in)
			<-out
			c.N = 1
			return nil
		})
		ch <- err
	}()
	<-in
	return func() { close(out) }, ch
}

func inc(c *count) error { c.N++; return nil }

func TestStorePanicIsRaisedInItsCaller(t *testing.T) {
	s := openCount(t, vfs.NewMem(), nil)
	release, first := blockStore(s)
	type result struct {
		err error
		p   any
	}
	results := make([]chan result, 3)
	for i := range 3 {
		results[i] = make(chan result, 1)
		go func() {
			var r result
			defer func() { r.p = recover(); results[i] <- r }()
			_, r.err = s.Update(context.Background(), func(c *count) error {
				if i == 1 {
					c.N = 100 // undone
					panic("store fn")
				}
				return inc(c)
			})
		}()
		waitStoreQueued(t, s, i+1)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, ch := range results {
		r := <-ch
		if i == 1 {
			if r.p != "store fn" {
				t.Fatalf("the panicking caller recovered %v (err %v)", r.p, r.err)
			}
			continue
		}
		if r.p != nil || r.err != nil {
			t.Fatalf("caller %d: panic %v, err %v", i, r.p, r.err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.Update(ctx, inc); err != nil {
		t.Fatalf("an update after the panic: %v", err)
	}
	if c, _, _ := s.Get(); c.N != 4 {
		t.Fatalf("N = %d, want 4", c.N)
	}
}

func TestStoreWaiterHonoursItsDeadline(t *testing.T) {
	s := openCount(t, vfs.NewMem(), nil)
	release, first := blockStore(s)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	called := false
	_, err := s.Update(ctx, func(c *count) error { called = true; return inc(c) })
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v after %v, with a 200ms deadline", err, time.Since(start))
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if called {
		t.Fatal("fn ran for a caller that had left")
	}
}

func TestStoreLeaderContextFailsNobodyElse(t *testing.T) {
	s := openCount(t, vfs.NewMem(), nil)
	release, first := blockStore(s)
	ctx, cancel := context.WithCancel(context.Background())
	errB, errC := make(chan error, 1), make(chan error, 1)
	calledB := false
	go func() {
		_, err := s.Update(ctx, func(c *count) error { calledB = true; return inc(c) })
		errB <- err
	}()
	waitStoreQueued(t, s, 1)
	go func() { _, err := s.Update(context.Background(), inc); errC <- err }()
	waitStoreQueued(t, s, 2)
	cancel()
	if err := <-errB; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v", err)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-errC; err != nil {
		t.Fatalf("a caller whose context was fine: %v", err)
	}
	if c, _, _ := s.Get(); c.N != 2 || calledB {
		t.Fatalf("N = %d (want 2), the leader's fn called: %v", c.N, calledB)
	}
}

func TestStoreReentryIsRefused(t *testing.T) {
	m := vfs.NewMem()
	s := openCount(t, m, nil)
	other := openCount(t, m, nil) // another Store of the same file
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var inner, inner2 error
	start := time.Now()
	_, err := s.Update(ctx, func(c *count) error {
		_, inner = s.Update(ctx, inc)
		_, inner2 = other.Update(ctx, inc)
		c.N = 7
		return nil
	})
	if err != nil || !errors.Is(inner, durable.ErrReentrant) || !errors.Is(inner2, durable.ErrReentrant) || time.Since(start) > 8*time.Second {
		t.Fatalf("outer %v, inner %v and %v, after %v", err, inner, inner2, time.Since(start))
	}
	if c, _, _ := s.Get(); c.N != 7 {
		t.Fatalf("N = %d", c.N)
	}
}

// Item 7: when the batch's write fails, every caller whose function saw
// the unwritten change fails with it; one before the change keeps its own
// outcome.
func TestStoreFailedWriteFailsWhoSawIt(t *testing.T) {
	m := vfs.NewMem()
	inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpRename, N: 2, Err: syscall.EIO})
	s := openCount(t, inj, &Options[count]{Backups: -1})
	// Another Store of the file holds the batch: its batch does not take
	// the waiting one over (it would be written by rename 1).
	release, first := blockStore(openCount(t, inj, &Options[count]{Backups: -1})) // rename 1
	own := errors.New("refused")
	var seen [4]int
	fns := []func(*count) error{
		func(c *count) error { seen[0] = c.N; return ErrNoChange },
		func(c *count) error { seen[1] = c.N; return inc(c) },
		func(c *count) error { seen[2] = c.N; return ErrNoChange },
		func(c *count) error { seen[3] = c.N; return own },
	}
	errs := make([]chan error, len(fns))
	for i, fn := range fns {
		errs[i] = make(chan error, 1)
		go func() { _, err := s.Update(context.Background(), fn); errs[i] <- err }()
		waitStoreQueued(t, s, i+1)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	got := make([]error, len(fns))
	for i := range fns {
		got[i] = <-errs[i]
	}
	if seen[2] != 2 {
		t.Fatalf("the batch did not run as set up: %v", seen)
	}
	if got[0] != nil {
		t.Fatalf("the function before the change: %v", got[0])
	}
	for i := 1; i <= 3; i++ {
		if !errors.Is(got[i], syscall.EIO) {
			t.Fatalf("caller %d: %v, want the write's EIO", i, got[i])
		}
	}
	if !errors.Is(got[3], own) {
		t.Fatalf("caller 3 lost its own error: %v", got[3])
	}
	if c, _, _ := s.Get(); c.N != 1 {
		t.Fatalf("N = %d", c.N)
	}
}

type funcFS struct {
	vfs.FS
	hook func()
}

// Item 8: Stores on filesystem values that cannot be compared lose no
// update.
func TestStoreIsolationWithoutComparableFS(t *testing.T) {
	m := vfs.NewMem()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			s, err := Open("/c.json", &Options[count]{FS: funcFS{m, func() {}}})
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := s.Update(context.Background(), inc); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	s := openCount(t, m, nil)
	if c, _, _ := s.Get(); c.N != 50 {
		t.Fatalf("N = %d after 50 increments", c.N)
	}
}
