package queue

import (
	"sync/atomic"
	"testing"
	"time"
)

// A batch is held for the answers due from consumers that answer fast,
// and no longer.
func TestGatherHoldsForDueAnswers(t *testing.T) {
	var g gather
	g.flush, g.answer = 10*time.Second, time.Second // limit 10 s, expect 2 s
	now := time.Now()
	g.handed(1, now)
	g.handed(2, now)
	var answered atomic.Int32
	done := make(chan struct{})
	go func() {
		g.hold()
		if answered.Load() != 2 {
			t.Errorf("hold returned after %d of 2 due answers", answered.Load())
		}
		close(done)
	}()
	time.Sleep(10 * time.Millisecond)
	for _, id := range []ID{1, 2} {
		answered.Add(1)
		g.answered(id, time.Now())
	}
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("hold still waits after every due answer came in")
	}
}

// Consumers slower than half the limit are not waited for.
func TestGatherSkipsSlowConsumers(t *testing.T) {
	var g gather
	g.flush, g.answer = 10*time.Second, 6*time.Second // expect 12 s > limit 10 s
	g.handed(1, time.Now())
	done := make(chan struct{})
	go func() { g.hold(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("hold waits for a consumer that answers slower than a flush")
	}
}

// An answer that does not come in time is given up, and counts as slow.
func TestGatherGivesUp(t *testing.T) {
	var g gather
	g.flush, g.answer = 10*time.Second, 20*time.Millisecond // expect 40 ms
	g.handed(1, time.Now())
	done := make(chan struct{})
	go func() { g.hold(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("hold waits past the expected answer time")
	}
	if len(g.out) != 0 || g.answer <= 20*time.Millisecond {
		t.Fatalf("after giving up: %d still out, average answer %v", len(g.out), g.answer)
	}
	// A late answer to a forgotten message changes nothing.
	g.answered(1, time.Now())
}
