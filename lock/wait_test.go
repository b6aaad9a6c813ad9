package lock

// Waits: a Lock that waits gets the lock the moment it is released, and
// one whose context ends says why and leaves nothing behind.

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"
)

func TestWaitSucceedsWhenReleased(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := tempName(t)

	t.Run("in process", func(t *testing.T) {
		l := mustLock(t, name)
		released := make(chan struct{})
		go func() {
			time.Sleep(100 * time.Millisecond)
			close(released)
			l.Unlock()
		}()
		r, err := RLock(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-released:
		default:
			t.Fatal("RLock returned while the exclusive lock was held")
		}
		mustUnlock(t, r)
	})

	t.Run("other process", func(t *testing.T) {
		h := startHelper(t, "hold", name)
		h.expect("locked")
		go func() {
			time.Sleep(100 * time.Millisecond)
			h.stdin.Close()
		}()
		l, err := Lock(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if h.alive() {
			// The helper unlocks before it exits; give it a moment to go.
			select {
			case <-h.exited:
			case <-time.After(5 * time.Second):
				t.Fatal("Lock returned while the other process still held it")
			}
		}
		mustUnlock(t, l)
	})
	checkRegistryEmpty(t)
}

func TestWaitEnds(t *testing.T) {
	name := tempName(t)

	// Each case runs with the lock held in this process (the wait is on the
	// in-process lock) and in another (the wait polls the file lock).
	holders := []struct {
		name string
		hold func(t *testing.T) (release func())
	}{
		{"in process", func(t *testing.T) func() {
			l := mustLock(t, name)
			return func() { mustUnlock(t, l) }
		}},
		{"other process", func(t *testing.T) func() {
			h := startHelper(t, "hold", name)
			h.expect("locked")
			return h.stop
		}},
	}
	for _, holder := range holders {
		t.Run(holder.name, func(t *testing.T) {
			release := holder.hold(t)
			defer release()

			for _, exclusive := range []bool{true, false} {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(50*time.Millisecond, cancel)
				start := time.Now()
				_, err := acquire(ctx, "lock", name, exclusive, DefaultTimeout)
				if took := time.Since(start); took > time.Second {
					t.Errorf("cancelled wait took %v", took)
				}
				if !errors.Is(err, context.Canceled) || isLocked(err) {
					t.Errorf("cancelled wait: got %v, want context.Canceled and not ErrLocked", err)
				}

				ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
				start = time.Now()
				_, err = acquire(ctx, "lock", name, exclusive, DefaultTimeout)
				cancel()
				if took := time.Since(start); took > time.Second {
					t.Errorf("wait with a 100ms deadline took %v", took)
				}
				if !isLocked(err) || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("deadline: got %v, want ErrLocked and DeadlineExceeded", err)
				}

				// No deadline: the default bound applies.
				start = time.Now()
				_, err = acquire(context.Background(), "lock", name, exclusive, 150*time.Millisecond)
				took := time.Since(start)
				if took < 150*time.Millisecond || took > time.Second {
					t.Errorf("wait bounded by a 150ms default took %v", took)
				}
				if !isLocked(err) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "gave up after 150ms") {
					t.Errorf("default timeout: got %v, want ErrLocked, DeadlineExceeded and how long it waited", err)
				}
				var pe *fs.PathError
				if !errors.As(err, &pe) || pe.Path != name+Suffix {
					t.Errorf("%v is not a *fs.PathError on the sidecar", err)
				}
			}
		})
	}

	// A context done before the call: nothing is tried, and the error does
	// not claim that anyone holds the lock.
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("shutting down")
	cancel(cause)
	if _, err := Lock(ctx, name); !errors.Is(err, context.Canceled) || !errors.Is(err, cause) || isLocked(err) {
		t.Errorf("Lock with a cancelled context: got %v, want Canceled wrapping its cause", err)
	}
	checkRegistryEmpty(t)
}
