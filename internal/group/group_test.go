package group

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A caller that arrives while a batch runs must not be answered by it: the
// run it is part of must start after it joined.
func TestJoinersWaitForTheNextBatch(t *testing.T) {
	var q Queue[int]
	release := make(chan struct{})
	started := make(chan struct{})
	var runs [][]int
	run := recordRuns(&runs, started, release)
	var wg sync.WaitGroup
	wg.Go(func() { q.Do(bg, 0, nil, run) })
	<-started
	for i := 1; i <= 10; i++ {
		wg.Go(func() { q.Do(bg, i, nil, run) })
	}
	// Let the ten join the pending batch before the first run finishes.
	deadline := time.Now().Add(5 * time.Second)
	for {
		q.mu.Lock()
		n := 0
		if len(q.pending) > 0 {
			n = len(q.pending[0].items)
		}
		q.mu.Unlock()
		if n == 10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if len(runs) != 2 {
		t.Fatalf("got %d runs %v, want 2 (the first alone, then the ten together)", len(runs), runs)
	}
	if len(runs[0]) != 1 || runs[0][0] != 0 || len(runs[1]) != 10 {
		t.Fatalf("runs = %v", runs)
	}
	if !q.Idle() {
		t.Fatal("queue not idle after all callers returned")
	}
}

func TestErrorsGoToTheirBatch(t *testing.T) {
	var q Queue[int]
	boom := errors.New("boom")
	var wg sync.WaitGroup
	var failed, ok atomic.Int32
	for i := range 200 {
		wg.Go(func() {
			err := q.Do(bg, i, nil, items(func(b []int) error {
				for _, v := range b {
					if v%2 == 1 && len(b) == 1 {
						return boom
					}
				}
				return nil
			}))
			switch {
			case errors.Is(err, boom):
				if i%2 == 0 {
					t.Errorf("item %d got an error meant for an odd lone item", i)
				}
				failed.Add(1)
			case err == nil:
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load()+ok.Load() != 200 {
		t.Fatalf("answers: %d failed + %d ok, want 200", failed.Load(), ok.Load())
	}
}

func TestRunsNeverOverlapAndJoinIsHonoured(t *testing.T) {
	var q Queue[int]
	var active atomic.Int32
	var wg sync.WaitGroup
	sameParity := func(b []int, v int) bool { return b[0]%2 == v%2 }
	for i := range 500 {
		wg.Go(func() {
			q.Do(bg, i, sameParity, items(func(b []int) error {
				if active.Add(1) != 1 {
					t.Error("two batches ran at once")
				}
				for _, v := range b {
					if v%2 != b[0]%2 {
						t.Errorf("batch %v mixes items join refused", b)
					}
				}
				time.Sleep(10 * time.Microsecond)
				active.Add(-1)
				return nil
			}))
		})
	}
	wg.Wait()
}

func TestRegistryForgetsIdleKeys(t *testing.T) {
	var r Registry[string, int]
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			r.Do(bg, []string{"a", "b", "c"}[i%3], i, nil, func(*Batch[int]) error { return nil })
		})
	}
	wg.Wait()
	if n := r.Len(); n != 0 {
		t.Fatalf("registry holds %d keys after all work ended", n)
	}
}

// Hold runs when a batch's turn has come and before it closes: callers
// that arrive while it waits join that batch, also when the queue was
// idle; those that arrive once the batch runs wait for the next.
func TestHoldGathersLateItems(t *testing.T) {
	var q Queue[int]
	var runs [][]int
	held := make(chan struct{}, 1)
	resume := make(chan struct{})
	q.Hold = func([]int) {
		select {
		case held <- struct{}{}:
			<-resume // the first leader waits here for the late ones
		default:
		}
	}
	running := make(chan struct{})
	finish := make(chan struct{})
	run := recordRuns(&runs, running, finish)
	var wg sync.WaitGroup
	wg.Go(func() { q.Do(bg, 0, nil, run) })
	<-held // the queue was idle: item 0 leads, and holds
	for i := 1; i <= 3; i++ {
		wg.Go(func() { q.Do(bg, i, nil, run) })
	}
	waitFor(t, &q, func() bool { return q.next != nil && len(q.next.items) == 4 })
	close(resume)
	<-running
	wg.Go(func() { q.Do(bg, 4, nil, run) }) // the batch runs: 4 waits
	waitFor(t, &q, func() bool { return len(q.pending) == 1 })
	close(finish)
	wg.Wait()
	if len(runs) != 2 || len(runs[0]) != 4 || len(runs[1]) != 1 || runs[1][0] != 4 {
		t.Fatalf("runs = %v, want [0 1 2 3] then [4]", runs)
	}
}

// waitFor polls cond, under the queue's lock, for up to 5 s.
func waitFor(t *testing.T, q *Queue[int], cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		q.mu.Lock()
		ok := cond()
		q.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// recordRuns returns a run that records each batch in runs; the first
// closes started and waits for release. The caller reads runs once every
// Do has returned.
func recordRuns(runs *[][]int, started, release chan struct{}) func(*Batch[int]) error {
	var mu sync.Mutex
	return items(func(b []int) error {
		mu.Lock()
		*runs = append(*runs, append([]int(nil), b...))
		first := len(*runs) == 1
		mu.Unlock()
		if first {
			close(started)
			<-release
		}
		return nil
	})
}

var bg = context.Background()

// items adapts a run that needs only the batch's items.
func items(run func([]int) error) func(*Batch[int]) error {
	return func(b *Batch[int]) error { return run(b.Items()) }
}
