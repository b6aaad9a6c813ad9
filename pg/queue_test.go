package pg

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/durable-go/durable/queue"
)

func TestQueuePushPopAck(t *testing.T) {
	db := openTest(t)
	ctx := ctxT(t)
	q, _ := db.Queue("jobs", nil)
	other, _ := db.Queue("other", nil)
	id1, err := q.Push(ctx, []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := q.PushBatch(ctx, [][]byte{[]byte("b"), []byte("c")})
	if err != nil || len(ids) != 2 || ids[0] <= id1 || ids[1] <= ids[0] {
		t.Fatalf("PushBatch: %v %v", ids, err)
	}
	if _, ok, _ := other.TryPop(ctx, time.Minute); ok {
		t.Fatal("another queue's message was delivered")
	}
	msgs, err := q.PopBatch(ctx, 10, time.Minute)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("PopBatch: %d %v", len(msgs), err)
	}
	for i, want := range []string{"a", "b", "c"} {
		if string(msgs[i].Payload) != want || msgs[i].Attempt != 1 {
			t.Fatalf("message %d: %q attempt %d", i, msgs[i].Payload, msgs[i].Attempt)
		}
	}
	if st, _ := q.Stats(ctx); st.Leased != 3 || st.Ready != 0 {
		t.Fatalf("stats %+v", st)
	}
	for _, m := range msgs {
		if err := q.Ack(ctx, m.Lease); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Ack(ctx, msgs[0].Lease); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("second Ack: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := q.Pop(short, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Pop of an empty queue: %v", err)
	}
}

func TestQueueLeaseReceipts(t *testing.T) {
	db := openTest(t)
	ctx := ctxT(t)
	q, _ := db.Queue("jobs", nil)
	q.Push(ctx, []byte("x"))
	m1, err := q.Pop(ctx, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := q.Extend(ctx, m1.Lease, time.Minute); !errors.Is(err, queue.ErrLeaseExpired) {
		t.Fatalf("Extend of an expired lease: %v", err)
	}
	m2, err := q.Pop(ctx, time.Minute)
	if err != nil || m2.ID != m1.ID || m2.Attempt != 2 {
		t.Fatalf("redelivery: %+v %v", m2, err)
	}
	for name, op := range map[string]func() error{
		"ack":    func() error { return q.Ack(ctx, m1.Lease) },
		"nack":   func() error { return q.Nack(ctx, m1.Lease, 0) },
		"extend": func() error { _, err := q.Extend(ctx, m1.Lease, time.Minute); return err },
	} {
		if err := op(); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("%s with the first delivery's receipt: %v", name, err)
		}
	}
	until, err := q.Extend(ctx, m2.Lease, time.Hour)
	if err != nil || time.Until(until) < 50*time.Minute {
		t.Fatalf("Extend: %v %v", until, err)
	}
	if err := q.Ack(ctx, m2.Lease); err != nil {
		t.Fatal(err)
	}
}

func TestQueueNackDelayDeadRetryPurge(t *testing.T) {
	db := openTest(t)
	ctx := ctxT(t)
	q, _ := db.Queue("jobs", &QueueOptions{MaxAttempts: 2, PollInterval: 20 * time.Millisecond})
	id, _ := q.Push(ctx, []byte("flaky"))
	m, _ := q.Pop(ctx, time.Minute)
	if err := q.Nack(ctx, m.Lease, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if st, _ := q.Stats(ctx); st.Delayed != 1 {
		t.Fatalf("stats after a delayed nack: %+v", st)
	}
	if _, ok, _ := q.TryPop(ctx, time.Minute); ok {
		t.Fatal("a delayed message was delivered early")
	}
	start := time.Now()
	m, err := q.Pop(ctx, time.Minute)
	if err != nil || m.Attempt != 2 || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("after the delay: %+v %v (%v)", m, err, time.Since(start))
	}
	if err := q.Nack(ctx, m.Lease, 0); err != nil {
		t.Fatal(err)
	}
	dead, err := q.Dead(ctx)
	if err != nil || len(dead) != 1 || dead[0].ID != id || dead[0].Attempts != 2 {
		t.Fatalf("dead letters: %+v %v", dead, err)
	}
	if _, ok, _ := q.TryPop(ctx, time.Minute); ok {
		t.Fatal("a dead letter was delivered")
	}
	if err := q.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	// A lease that runs out on the last attempt makes a dead letter too.
	m, _ = q.Pop(ctx, 50*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	m, _ = q.Pop(ctx, 50*time.Millisecond)
	if m.Attempt != 2 {
		t.Fatalf("attempt %d", m.Attempt)
	}
	time.Sleep(100 * time.Millisecond)
	if _, ok, _ := q.TryPop(ctx, time.Minute); ok {
		t.Fatal("a message past MaxAttempts was delivered")
	}
	live, _ := q.Push(ctx, []byte("live"))
	if _, err := q.Purge(ctx, id, live); !errors.Is(err, queue.ErrNotLeased) {
		t.Fatalf("Purge naming a live message: %v", err)
	}
	if d, _ := q.Dead(ctx); len(d) != 1 {
		t.Fatal("a refused Purge removed something")
	}
	if n, err := q.Purge(ctx); err != nil || n != 1 {
		t.Fatalf("Purge: %d %v", n, err)
	}
	if err := q.Retry(ctx, id); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("Retry of a purged message: %v", err)
	}
}

func TestQueuePopWakesOnPush(t *testing.T) {
	db := openTest(t)
	ctx := ctxT(t)
	q, _ := db.Queue("jobs", &QueueOptions{PollInterval: time.Hour})
	other := openSchema(t, testURL(t), db.Schema())
	q2, _ := other.Queue("jobs", nil)
	got := make(chan error, 1)
	go func() {
		m, err := q.Pop(ctx, time.Minute)
		if err == nil && string(m.Payload) != "wake" {
			err = fmt.Errorf("payload %q", m.Payload)
		}
		got <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if _, err := q2.Push(ctx, []byte("wake")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting Pop did not wake on another handle's Push (polling is hourly)")
	}
}
