package group

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// The callers who join the batch after the running one call Joined, and
// Upcoming shows them that batch's items while the other runs: the journal
// prepares its next batch with them.
func TestJoinedSeesTheUpcomingBatch(t *testing.T) {
	var q Queue[int]
	release := make(chan struct{})
	started := make(chan struct{})
	var runs [][]int
	run := recordRuns(&runs, started, release)
	var joined atomic.Int32
	var mu sync.Mutex
	var seen []int
	var batches = map[*Batch[int]]bool{}
	q.Joined = func() {
		joined.Add(1)
		mu.Lock()
		defer mu.Unlock()
		items, b := q.Upcoming(nil, len(seen))
		if b == nil {
			t.Error("Upcoming found no batch for a caller that joined one")
			return
		}
		batches[b] = true
		seen = append(seen, items...)
	}
	var wg sync.WaitGroup
	wg.Go(func() { q.Do(bg, 0, nil, run) })
	<-started
	if items, b := q.Upcoming(nil, 0); b != nil || len(items) != 0 {
		t.Fatalf("Upcoming with no batch waiting = %v, %p", items, b)
	}
	for i := 1; i <= 10; i++ {
		wg.Go(func() { q.Do(bg, i, nil, run) })
	}
	waitFor(t, &q, func() bool { return waitingLocked(&q) == 10 })
	close(release)
	wg.Wait()
	if joined.Load() != 10 {
		t.Fatalf("Joined called %d times, want 10 (once per caller of the waiting batch)", joined.Load())
	}
	if len(batches) != 1 {
		t.Fatalf("Upcoming showed %d batches, want 1", len(batches))
	}
	if len(runs) != 2 || !slices.Equal(seen, runs[1]) {
		t.Fatalf("Upcoming showed %v, the batch ran with %v", seen, runs)
	}
}

// A member whose leader and own context cannot end waits with a plain
// receive; with a leader that can leave it still follows the lead.
func TestMembersFollowALeaderThatLeaves(t *testing.T) {
	var q Queue[int]
	release := make(chan struct{})
	started := make(chan struct{})
	var runs [][]int
	run := recordRuns(&runs, started, release)
	var wg sync.WaitGroup
	wg.Go(func() { q.Do(bg, 0, nil, run) })
	<-started
	ctx, cancel := context.WithCancel(bg)
	left := make(chan error, 1)
	go func() { left <- q.Do(ctx, 1, nil, run) }()
	waitFor(t, &q, func() bool { return waitingLocked(&q) == 1 })
	for i := 2; i <= 5; i++ {
		wg.Go(func() {
			if err := q.Do(bg, i, nil, run); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, &q, func() bool { return waitingLocked(&q) == 5 })
	cancel()
	if err := <-left; err != context.Canceled {
		t.Fatalf("the leader that left got %v", err)
	}
	close(release)
	wg.Wait()
	if len(runs) != 2 || len(runs[1]) != 4 {
		t.Fatalf("runs = %v, want the four members run without their leader", runs)
	}
}

// waitingLocked is Waiting for a caller that holds the queue's lock
// (waitFor's conditions).
func waitingLocked(q *Queue[int]) int {
	n := 0
	for _, b := range q.pending {
		n += len(b.ws)
	}
	return n
}
