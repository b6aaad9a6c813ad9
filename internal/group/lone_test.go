package group

import (
	"errors"
	"sync"
	"testing"
)

// A caller that finds the queue idle runs a batch of its own that has no
// channels (newLoneBatch): one allocation, the Batch.
func TestLoneBatchAllocatesOnlyItself(t *testing.T) {
	if raceOn {
		t.Skip("the race detector's sync.Pool drops waiters at random")
	}
	var q Queue[int]
	run := func(b *Batch[int]) error {
		if !b.Claim(0) {
			return errors.New("not claimed")
		}
		ctx, stop := b.Context()
		defer stop()
		return ctx.Err()
	}
	q.Do(bg, 0, nil, run) // the first waiter is new
	if n := testing.AllocsPerRun(1000, func() {
		if err := q.Do(bg, 1, nil, run); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Fatalf("a lone Do allocates %v objects, want at most 1", n)
	}
}

// A lone batch is a batch like any other: its run's panic reaches its
// caller and the queue moves on; its run may take over the batch that
// queued behind it (Steal), whose callers it then answers; and a batch
// that queues behind it has the channels its callers wait on.
func TestLoneBatchPanicsAndSteals(t *testing.T) {
	var q Queue[int]
	func() {
		defer func() {
			if p := recover(); p != "lone" {
				t.Fatalf("recovered %v, want the run's panic", p)
			}
		}()
		q.Do(bg, 0, nil, func(*Batch[int]) error { panic("lone") })
	}()
	if !q.Idle() {
		t.Fatal("queue not idle after a lone run panicked")
	}

	entered := make(chan struct{})
	var wg sync.WaitGroup
	var stolen []int
	errB := make(chan error, 2)
	wg.Go(func() {
		errB <- q.Do(bg, 1, nil, func(b *Batch[int]) error {
			close(entered)
			waitFor(t, &q, func() bool { return len(q.pending) == 1 && len(q.pending[0].items) == 2 })
			s := b.Steal(func([]int) bool { return true })
			if s == nil {
				return errors.New("nothing to steal")
			}
			for i, it := range s.Items() {
				if s.Claim(i) {
					stolen = append(stolen, it)
				}
				if it == 3 {
					s.Fail(i, errors.New("three failed"))
				}
			}
			return nil
		})
	})
	<-entered
	for _, v := range []int{2, 3} {
		wg.Go(func() {
			err := q.Do(bg, v, nil, items(func([]int) error { return errors.New("ran a stolen batch") }))
			if v == 3 {
				if err == nil || err.Error() != "three failed" {
					t.Errorf("item 3: got %v, want its own failure", err)
				}
				return
			}
			errB <- err
		})
	}
	wg.Wait()
	close(errB)
	for err := range errB {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(stolen) != 2 || stolen[0]+stolen[1] != 5 {
		t.Fatalf("stole %v, want 2 and 3", stolen)
	}
	if !q.Idle() {
		t.Fatal("queue not idle")
	}
}
