package pg

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable/lock"
)

func TestLockExcludesAcrossHandles(t *testing.T) {
	db := openTest(t)
	other := openSchema(t, testURL(t), db.Schema())
	ctx := ctxT(t)
	var in, max atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := db
			if i%2 == 1 {
				d = other
			}
			for range 10 {
				h, err := d.Lock(ctx, "job")
				if err != nil {
					t.Error(err)
					return
				}
				n := in.Add(1)
				if n > max.Load() {
					max.Store(n)
				}
				time.Sleep(time.Millisecond)
				in.Add(-1)
				if err := h.Unlock(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if max.Load() != 1 {
		t.Fatalf("%d holders at once", max.Load())
	}
}

func TestLockSharedTryAndTimeout(t *testing.T) {
	db := openTest(t)
	ctx := ctxT(t)
	r1, err := db.RLock(ctx, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := db.TryRLock(ctx, "cfg")
	if err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	if _, err := db.TryLock(ctx, "cfg"); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("TryLock under readers: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = db.Lock(short, "cfg")
	if !errors.Is(err, lock.ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock that times out: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a 200ms wait took %v", took)
	}
	canc, cancel2 := context.WithCancel(ctx)
	go func() { time.Sleep(50 * time.Millisecond); cancel2() }()
	if _, err := db.Lock(canc, "cfg"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Lock: %v", err)
	}
	r1.Unlock()
	r2.Unlock()
	h, err := db.TryLock(ctx, "cfg")
	if err != nil {
		t.Fatalf("TryLock once free: %v", err)
	}
	if err := h.Check(ctx); err != nil {
		t.Fatalf("Check of a held lock: %v", err)
	}
	if err := h.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := h.Unlock(); !errors.Is(err, lock.ErrClosed) {
		t.Fatalf("second Unlock: %v", err)
	}
}

// An administrator (or a failover) ends the holder's session: the lock is
// released for others and the holder is told.
func TestTerminatedHolderIsToldAndLockReleased(t *testing.T) {
	db := openTest(t)
	ctx := ctxT(t)
	h, err := db.Lock(ctx, "leader")
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := db.Pool().QueryRow(ctx, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1", db.LockKey("leader")).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the holder was not told its session ended")
	}
	if err := h.Check(ctx); !errors.Is(err, lock.ErrLost) {
		t.Fatalf("Check after the session ended: %v", err)
	}
	h2, err := db.TryLock(ctx, "leader")
	if err != nil {
		t.Fatalf("the lock was not released with the session: %v", err)
	}
	h2.Unlock()
	if err := h.Unlock(); !errors.Is(err, lock.ErrLost) {
		t.Fatalf("Unlock of a lost lock: %v", err)
	}
}

// Check goes to the server: a lock lost while nobody watched (the watch
// is paused during Check itself) is still found out.
func TestCheckAsksTheServer(t *testing.T) {
	db := openTest(t)
	ctx := ctxT(t)
	for range 20 {
		h, err := db.Lock(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := h.Check(ctx); err != nil {
				t.Fatalf("Check of a held lock: %v", err)
			}
		}
		if err := h.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
}
