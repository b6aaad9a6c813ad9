package group

import (
	"context"
	"testing"
)

// A run that ends closes the next batch before its members are answered
// (finishHandOver): a member that comes straight back joins the batch
// after the next one, which is prepared while the next one runs, never
// the next one, whose turn has come.
func TestAnsweredMembersJoinTheBatchAfterNext(t *testing.T) {
	var q Queue[int]
	next, _ := pendingTurn(&q, bg, 2)
	ended := newBatch(&q, &waiter[int]{item: 1, ctx: bg})
	ended.open = false
	sawOpen := make(chan bool, 1)
	go func() {
		<-ended.done
		q.mu.Lock()
		sawOpen <- next.open
		q.mu.Unlock()
	}()
	q.finishHandOver(ended, nil)
	if <-sawOpen {
		t.Fatal("a member answered by the batch that ended found the next batch still taking items")
	}
	select {
	case <-next.turn:
	default:
		t.Fatal("the next batch's turn has not come")
	}
	if !next.hasTurn || len(q.pending) != 0 || !q.running {
		t.Fatalf("hasTurn %v, pending %d, running %v: want the next batch to have the queue", next.hasTurn, len(q.pending), q.running)
	}
}

// A leader that leaves between passTurn and the close of its batch's turn
// hands the batch to a member that still waits, which runs it once the
// turn is closed; alone, it drops the batch and the queue moves on.
func TestLeaderLeavingWhileTheTurnPasses(t *testing.T) {
	for _, alone := range []bool{false, true} {
		var q Queue[int]
		rec := newRecorder()
		close(rec.started)
		close(rec.release)
		rec.batches = 1
		run := rec.run(nil)
		ctx, cancel := context.WithCancel(bg)
		b, leader := pendingTurn(&q, ctx, 1)
		other := make(chan error, 1)
		if alone {
			// A batch of its own behind b, which the queue moves on to.
			go func() { other <- q.Do(bg, 2, func([]int, int) bool { return false }, run) }()
		} else {
			go func() { other <- q.Do(bg, 2, nil, run) }()
		}
		waitWaiting(t, &q, 2)
		next := q.passTurn()
		if next != b {
			t.Fatal("passTurn did not return the waiting batch")
		}
		cancel()
		if !q.withdraw(b, leader) {
			t.Fatal("the leader could not leave a batch that had not started")
		}
		close(next.turn)
		if err := <-other; err != nil {
			t.Fatalf("alone %v: the other caller got %v", alone, err)
		}
		if rec.has(1) || !rec.has(2) || !idleSoon(&q) {
			t.Fatalf("alone %v: ran %v, want 2 and not 1, and the queue idle", alone, rec.ran)
		}
	}
}
