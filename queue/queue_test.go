package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/vfs"
)

func TestWorkloadClean(t *testing.T) {
	m := vfs.NewMem()
	l := newLedger()
	if err := workload(m, l, newClock(), 60); err != nil {
		t.Fatal(err)
	}
	live, err := drain(m, "/q")
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 0 {
		t.Errorf("after draining, %d live: %q", len(live), live)
	}
	if err := checkLive(live, l); err != nil {
		t.Error(err)
	}
	ents, _ := m.ReadDir("/q")
	n := 0
	for _, e := range ents {
		if len(e.Name()) > 10 {
			n++
		}
	}
	if n > 2 {
		t.Errorf("a drained queue keeps %d segments", n)
	}
}

func TestBasics(t *testing.T) {
	c := newClock()
	m := vfs.NewMem()
	q, err := Open("/q", &Options{FS: m, Now: c.Now, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := q.PushBatch(bg, [][]byte{[]byte("a"), []byte("b"), []byte("c")})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := q.Pop(bg, time.Minute)
	if err != nil || msg.ID != ids[0] || string(msg.Payload) != "a" || msg.Attempt != 1 {
		t.Fatalf("pop: %+v %v", msg, err)
	}
	st, _ := q.Stats()
	if st != (Stats{Ready: 2, Leased: 1}) {
		t.Errorf("stats %+v", st)
	}
	// A second handle (another process, as far as the state goes) sees
	// the lease.
	q2, err := Open("/q", &Options{FS: m, Now: c.Now, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := q2.Pop(bg, time.Minute)
	if err != nil || string(m2.Payload) != "b" {
		t.Fatalf("second consumer: %+v %v", m2, err)
	}
	if err := q.Ack(bg, msg.Receipt()); err != nil {
		t.Fatal(err)
	}
	if err := q2.Ack(bg, msg.Receipt()); !errors.Is(err, ErrNotFound) {
		t.Errorf("second ack: %v, want ErrNotFound", err)
	}
	// Lease expiry redelivers b, with attempt 2.
	c.Advance(2 * time.Minute)
	m3, err := q.Pop(bg, time.Minute)
	if err != nil || string(m3.Payload) != "b" || m3.Attempt != 2 {
		t.Fatalf("redelivery: %+v %v", m3, err)
	}
	if err := q.Extend(bg, m3.Receipt(), time.Hour); err != nil {
		t.Fatal(err)
	}
	// b is on its last attempt: a nack makes it dead.
	if err := q.Nack(bg, m3.Receipt(), 0); err != nil {
		t.Fatal(err)
	}
	ds, err := q2.Dead()
	if err != nil || len(ds) != 1 || string(ds[0].Payload) != "b" {
		t.Fatalf("dead: %+v %v", ds, err)
	}
	if err := q.Ack(bg, Receipt{ID: ds[0].ID, Attempt: ds[0].Attempts}); !errors.Is(err, ErrNotLeased) {
		t.Errorf("ack of a dead letter: %v", err)
	}
	if err := q2.Retry(bg, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	m4, err := q.Pop(bg, time.Minute)
	if err != nil || string(m4.Payload) != "b" || m4.Attempt != 1 {
		t.Fatalf("after retry: %+v %v", m4, err)
	}
	if err := q.Nack(bg, m4.Receipt(), time.Minute); err != nil {
		t.Fatal(err)
	}
	m5, err := q.Pop(bg, time.Minute) // c, since b is delayed
	if err != nil || string(m5.Payload) != "c" {
		t.Fatalf("delayed: %+v %v", m5, err)
	}
	if err := q.Extend(bg, m5.Receipt(), time.Second); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute + time.Second)
	if err := q.Extend(bg, m5.Receipt(), time.Second); !errors.Is(err, ErrLeaseExpired) {
		t.Errorf("extend after expiry: %v", err)
	}
	// Expired on its last attempt... c had 1 attempt, max 2: redelivered.
	st, _ = q.Stats()
	if st != (Stats{Ready: 2}) {
		t.Errorf("stats %+v", st)
	}
	q2.Close()
	q.Close()
	if _, err := q.Push(bg, []byte("x")); !errors.Is(err, durable.ErrClosed) {
		t.Errorf("push after close: %v", err)
	}
	// Reopen: the state is rebuilt from the journal.
	q, err = Open("/q", &Options{FS: m, Now: c.Now, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	st, _ = q.Stats()
	if st != (Stats{Ready: 2}) {
		t.Errorf("after reopen: stats %+v", st)
	}
	if _, err := q.Push(bg, make([]byte, MaxPayload+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
}

// Pop blocks until a message arrives, and honours its context.
func TestPopWaits(t *testing.T) {
	q, err := Open("/q", &Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	got := make(chan Msg)
	go func() {
		m, err := q.Pop(bg, time.Minute)
		if err != nil {
			t.Error(err)
		}
		got <- m
	}()
	time.Sleep(30 * time.Millisecond)
	if _, err := q.Push(bg, []byte("late")); err != nil {
		t.Fatal(err)
	}
	if m := <-got; string(m.Payload) != "late" {
		t.Errorf("got %q", m.Payload)
	}
	ctx, cancel := contextWithTimeout(20 * time.Millisecond)
	defer cancel()
	if _, err := q.Pop(ctx, time.Minute); err == nil {
		t.Error("Pop on an empty queue returned without error")
	}
}

// FIFO per producer for first deliveries, with several goroutines.
func TestFIFOPerProducer(t *testing.T) {
	q, err := Open("/q", &Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	done := make(chan bool)
	for p := range 4 {
		go func() {
			for k := range 25 {
				if _, err := q.Push(bg, fmt.Appendf(nil, "%d %d", p, k)); err != nil {
					t.Error(err)
				}
			}
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
	last := map[int]int{0: -1, 1: -1, 2: -1, 3: -1}
	for range 100 {
		m, err := q.Pop(bg, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var p, k int
		fmt.Sscanf(string(m.Payload), "%d %d", &p, &k)
		if k != last[p]+1 {
			t.Fatalf("producer %d: got %d after %d", p, k, last[p])
		}
		last[p] = k
		if err := q.Ack(bg, m.Receipt()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTyped(t *testing.T) {
	q, err := Open("/q", &Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	type job struct{ N int }
	tq := NewTyped[job](q)
	if _, err := tq.Push(bg, job{7}); err != nil {
		t.Fatal(err)
	}
	m, err := tq.Pop(bg, time.Minute)
	if err != nil || m.Value.N != 7 {
		t.Fatalf("%+v %v", m, err)
	}
	if err := tq.Ack(bg, m.Receipt()); err != nil {
		t.Fatal(err)
	}
}

// A handle that sleeps while another compacts (dropping records it never
// read) notices the gap and rebuilds its state from what is kept.
func TestCatchUpAfterDrop(t *testing.T) {
	m := vfs.NewMem()
	o := &Options{FS: m, SegmentSize: 4096, CompactRecords: 16}
	q, err := Open("/q", o)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	idle, err := Open("/q", o)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	keep, err := q.Push(bg, []byte("keep: pushed first, never acked"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idle.Stats(); err != nil { // idle has read the push
		t.Fatal(err)
	}
	for k := range 200 {
		if _, err := q.Push(bg, fmt.Appendf(nil, "job %d %s", k, "................................................")); err != nil {
			t.Fatal(err)
		}
		msg, err := q.Pop(bg, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if msg.ID == keep {
			if err := q.Nack(bg, msg.Receipt(), time.Hour); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := q.Ack(bg, msg.Receipt()); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := m.ReadDir("/q")
	segs := 0
	for _, e := range ents {
		if len(e.Name()) > 20 {
			segs++
		}
	}
	st, err := idle.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st != (Stats{Ready: 1, Delayed: 1}) { // job 199 is left, and keep
		t.Errorf("the idle handle sees %+v, want one ready and one delayed message", st)
	}
	if idle.st.base == 0 {
		t.Errorf("the idle handle did not rebuild (base %d); %d segments left", idle.st.base, segs)
	}
	if err := idle.Ack(bg, Receipt{ID: keep, Attempt: 1}); err != nil {
		t.Errorf("ack of the moved message through the idle handle: %v", err)
	}
	if st, _ := q.Stats(); st != (Stats{Ready: 1}) {
		t.Errorf("after ack: %+v", st)
	}
}

// The pops a flushed batch takes share its write, but not its caller's
// context: an Ack whose context ends during its flush must not fail a Pop
// waiting behind it.
func TestPopNotFailedByAnothersContext(t *testing.T) {
	ctx := context.Background()
	m := vfs.NewMem()
	q, err := Open("/q", &Options{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.PushBatch(ctx, [][]byte{[]byte("one"), []byte("two")}); err != nil {
		t.Fatal(err)
	}
	first, err := q.Pop(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ackCtx, cancel := context.WithCancel(ctx)
	type result struct {
		msg Msg
		err error
	}
	popped := make(chan result, 1)
	var armed atomic.Bool
	armed.Store(true)
	m.SetHook(func(op vfs.Op, name string) {
		if op != vfs.OpSync || !strings.HasSuffix(name, ".seg") || !armed.CompareAndSwap(true, false) {
			return
		}
		// The Ack's batch is flushed and still holds the lock: end its
		// context and queue a Pop behind it.
		cancel()
		go func() {
			msg, err := q.Pop(ctx, time.Minute)
			popped <- result{msg, err}
		}()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if q.g.Waiting() > 0 {
				return
			}
		}
		t.Error("the Pop never queued")
	})
	if err := q.Ack(ackCtx, first.Receipt()); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	r := <-popped
	m.SetHook(nil)
	if r.err != nil || string(r.msg.Payload) != "two" {
		t.Fatalf("Pop behind an Ack whose context ended: %q, %v", r.msg.Payload, r.err)
	}
}
