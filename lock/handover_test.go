package lock

import (
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/durable-go/durable/vfs"
)

// An exclusive wait sits in the kernel's queue: the lock passes to it the
// moment the other holder (here a descriptor of its own, which the file
// lock treats as another process) releases it, not at the next poll. With
// the old back-off (up to 50 ms, after a long hold) the median hand-over
// took tens of milliseconds.
func TestExclusiveWaitHandOverIsImmediate(t *testing.T) {
	name := tempName(t)
	m := New(vfs.OS{}, name)
	defer m.Close()
	for _, how := range []string{"Lock", "Mutex.Lock"} {
		var delays []time.Duration
		for range 7 {
			other := holdRaw(t, name)
			got := make(chan time.Time, 1)
			go func() {
				var h *Held
				var err error
				if how == "Lock" {
					h, err = Lock(context.Background(), name)
				} else {
					h, err = m.Lock(context.Background())
				}
				at := time.Now()
				if err != nil {
					t.Error(err)
				} else {
					h.Unlock()
				}
				got <- at
			}()
			time.Sleep(300 * time.Millisecond) // a poller's back-off would be at its longest
			released := time.Now()
			other.Close()
			delays = append(delays, (<-got).Sub(released))
		}
		slices.Sort(delays)
		t.Logf("%s: hand-over delays %v", how, delays)
		if med := delays[len(delays)/2]; med > 10*time.Millisecond {
			t.Errorf("%s: median hand-over %v after the release: the wait polls", how, med)
		}
	}
}

// holdRaw takes the exclusive file lock on name's sidecar through a
// descriptor of its own, as another process would; closing it releases.
func holdRaw(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := open(name+Suffix, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := (osLocker{}).tryLock(f, true); err != nil {
		f.Close()
		t.Fatal(err)
	}
	return f
}

// A wait whose context ends leaves its blocked waiter behind; the next
// wait adopts it instead of starting another (one per name, however many
// waits time out), and a lock that comes while nobody waits is given back
// at once.
func TestAbandonedExclusiveWaitIsAdoptedAndGivenBack(t *testing.T) {
	name := tempName(t)
	other := holdRaw(t, name)
	before := runtime.NumGoroutine()
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := Lock(ctx, name)
		cancel()
		if !errors.Is(err, ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want ErrLocked and DeadlineExceeded", err)
		}
	}
	// Goroutines that end on their own (a timer's, an earlier test's
	// waiter giving its lock back) may take a moment on a slow machine;
	// one waiter per abandoned wait would never go.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n := runtime.NumGoroutine() - before
		if n <= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left waiting after 5 abandoned waits, want at most 1", n)
		}
	}
	// Released while nobody waits: the waiter takes it and gives it back.
	other.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := open(name+Suffix, true)
		if err != nil {
			t.Fatal(err)
		}
		err = (osLocker{}).tryLock(f, true)
		f.Close()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the abandoned waiter kept the lock")
		}
		time.Sleep(time.Millisecond)
	}
	// And the lock works as before.
	h, err := Lock(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	h.Unlock()
}

// A waiter adopted after an abandoned wait delivers the lock to its new
// caller when the holder releases.
func TestAdoptedWaitGetsTheLock(t *testing.T) {
	name := tempName(t)
	m := New(vfs.OS{}, name)
	defer m.Close()
	other := holdRaw(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	if _, err := m.Lock(ctx); !errors.Is(err, ErrLocked) {
		t.Fatalf("got %v, want ErrLocked", err)
	}
	cancel()
	got := make(chan error, 1)
	go func() {
		h, err := m.Lock(context.Background())
		if err == nil {
			err = h.Unlock()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	other.Close()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the adopted wait never got the lock")
	}
	// Released: another descriptor can take it.
	holdRaw(t, name).Close()
}
