package group

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

// The fast paths of the queue: a batch stops taking items when its turn
// comes, and its leader starts it without the mutex, so a leader that
// leaves between its turn and its start must hand the batch on (or drop
// it); waiters are recycled; Weight bounds a batch without join adding it
// up.

// pendingTurn makes q look busy with a batch led by a waiter that is not
// waiting in any goroutine (the test plays its part), and returns them.
func pendingTurn(q *Queue[int], ctx context.Context, item int) (*Batch[int], *waiter[int]) {
	w := &waiter[int]{item: item, ctx: ctx}
	b := newBatch(q, w)
	q.mu.Lock()
	q.running = true
	q.pending = append(q.pending, b)
	q.mu.Unlock()
	return b, w
}

// A leader that leaves after its batch's turn has come, before starting
// it, hands the batch to a member that still waits, which runs it; the
// item of the leader that left is not run.
func TestLeaderLeavingAtItsTurnHandsTheBatchOn(t *testing.T) {
	var q Queue[int]
	rec := newRecorder()
	close(rec.started)
	close(rec.release)
	rec.batches = 1 // no batch waits for release
	run := rec.run(nil)
	// Only a leader whose context can end leaves.
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	b, leader := pendingTurn(&q, ctx, 1)
	member := make(chan error, 1)
	go func() { member <- q.Do(bg, 2, nil, run) }()
	waitWaiting(t, &q, 2)
	q.handOver() // b's turn: it is closed, and its leader would start it
	q.mu.Lock()
	open := b.open
	q.mu.Unlock()
	if open {
		t.Fatal("a batch whose turn has come still takes items")
	}
	// The leader's goroutine would do this when its context ends.
	if !q.withdraw(b, leader) {
		t.Fatal("the leader could not leave a batch that had not started")
	}
	if err := <-member; err != nil {
		t.Fatalf("the member that took over got %v", err)
	}
	if rec.has(1) || !rec.has(2) {
		t.Fatalf("ran %v, want 2 and not 1", rec.ran)
	}
	if !idleSoon(&q) {
		t.Fatal("not idle")
	}
}

// A batch whose leader, alone, leaves after its turn has come is dropped,
// and the queue moves on to the next batch.
func TestBatchLeftAtItsTurnIsDropped(t *testing.T) {
	var q Queue[int]
	rec := newRecorder()
	close(rec.started)
	close(rec.release)
	rec.batches = 1
	run := rec.run(nil)
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	b, leader := pendingTurn(&q, ctx, 1)
	later := make(chan error, 1)
	go func() { later <- q.Do(bg, 2, func([]int, int) bool { return false }, run) }()
	waitWaiting(t, &q, 2)
	q.handOver()
	if !q.withdraw(b, leader) {
		t.Fatal("the leader could not leave")
	}
	select {
	case <-b.done:
	default:
		t.Fatal("the batch everyone left is not done")
	}
	if err := <-later; err != nil {
		t.Fatal(err)
	}
	if rec.has(1) || !rec.has(2) || !idleSoon(&q) {
		t.Fatalf("ran %v", rec.ran)
	}
}

// Weight bounds a batch's sum, a lone item excepted, and a member that
// leaves an open batch gives its weight back.
func TestWeightBoundsABatch(t *testing.T) {
	q := Queue[int]{Weight: func(v int) int { return v }, MaxWeight: 10}
	rec := newRecorder()
	run, batches := recordBatches(rec)
	done := rec.holdFirst(&q, run)
	ctx, cancel := context.WithCancel(bg)
	results := make(chan error, 5)
	do := func(ctx context.Context, v, waiting int) {
		go func() { results <- q.Do(ctx, v, nil, run) }()
		waitWaiting(t, &q, waiting)
	}
	do(bg, 4, 1)
	do(ctx, 5, 2) // 9
	do(bg, 3, 3)  // 12: a batch of its own
	do(bg, 20, 4) // over the bound alone: a batch of its own
	cancel()      // 5 leaves the first batch: 4 left in it
	waitWaiting(t, &q, 3)
	do(bg, 6, 4) // the last batch is [20]: 6 starts another
	close(rec.release)
	<-done
	errs := 0
	for range 5 {
		if err := <-results; errors.Is(err, context.Canceled) {
			errs++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if errs != 1 {
		t.Fatalf("%d callers left, want 1", errs)
	}
	want := [][]int{{0}, {4}, {3}, {20}, {6}}
	if got := batches(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	if !idleSoon(&q) {
		t.Fatal("not idle")
	}
}

// Weight with room: items join up to the bound.
func TestWeightLetsItemsJoinUpToTheBound(t *testing.T) {
	q := Queue[int]{Weight: func(v int) int { return v }, MaxWeight: 10}
	rec := newRecorder()
	run, batches := recordBatches(rec)
	done := rec.holdFirst(&q, run)
	results := make(chan error, 4)
	for i, v := range []int{3, 3, 4, 1} {
		go func() { results <- q.Do(bg, v, nil, run) }()
		waitWaiting(t, &q, i+1)
	}
	close(rec.release)
	<-done
	for range 4 {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	want := [][]int{{0}, {3, 3, 4}, {1}}
	if got := batches(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
}

// A caller answered by its batch leaves its waiter for the next caller;
// the outcome each caller gets is still its own.
func TestRecycledWaitersKeepOutcomesApart(t *testing.T) {
	var q Queue[int]
	fail := errors.New("odd")
	run := func(b *Batch[int]) error {
		for i, v := range b.Items() {
			if b.Claim(i) && v%2 == 1 {
				b.Fail(i, fail)
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for k := range 500 {
				v := g*1000 + k
				err := q.Do(bg, v, nil, run)
				if (v%2 == 1) != (err == fail) {
					t.Errorf("item %d got %v", v, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// recordBatches returns rec's run function, which also records the items
// of every batch it runs, and a function that returns them.
func recordBatches(rec *recorder) (func(*Batch[int]) error, func() [][]int) {
	var mu sync.Mutex
	var batches [][]int
	inner := rec.run(nil)
	run := func(b *Batch[int]) error {
		mu.Lock()
		batches = append(batches, slices.Clone(b.Items()))
		mu.Unlock()
		return inner(b)
	}
	return run, func() [][]int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(batches)
	}
}
