package queue

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable/vfs"
)

// The rules of the concurrency layer (internal/group), through Queue: a
// Push or Pop queued behind a slow flush returns at its own deadline, its
// message not pushed; a Pop whose leader gave up is still served.
func TestOperationsHonourTheirOwnDeadline(t *testing.T) {
	ctx := context.Background()
	m := vfs.NewMem()
	q, err := Open("/q", &Options{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.Push(ctx, []byte("one")); err != nil {
		t.Fatal(err)
	}
	// The next flush blocks until released.
	var armed atomic.Bool
	armed.Store(true)
	inSync, release := make(chan struct{}), make(chan struct{})
	m.SetHook(func(op vfs.Op, name string) {
		if op == vfs.OpSync && strings.HasSuffix(name, ".seg") && armed.CompareAndSwap(true, false) {
			close(inSync)
			<-release
		}
	})
	slow := make(chan error, 1)
	go func() { _, err := q.Push(ctx, []byte("two")); slow <- err }()
	<-inSync
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := q.Push(short, []byte("dropped")); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("push: %v after %v with a 200ms deadline", err, time.Since(start))
	}
	// A pop that leads its batch gives up; one behind it is served.
	popCtx, popCancel := context.WithCancel(ctx)
	left := make(chan error, 1)
	go func() { _, err := q.Pop(popCtx, time.Minute); left <- err }()
	for q.g.Waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	served := make(chan Msg, 1)
	go func() {
		msg, err := q.Pop(ctx, time.Minute)
		if err != nil {
			t.Error(err)
		}
		served <- msg
	}()
	for q.g.Waiting() != 2 {
		time.Sleep(time.Millisecond)
	}
	popCancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("the pop that gave up: %v", err)
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	if msg := <-served; string(msg.Payload) != "one" {
		t.Fatalf("served %q", msg.Payload)
	}
	m.SetHook(nil)
	msg, ok, err := q.TryPop(ctx, time.Minute)
	if err != nil || !ok || string(msg.Payload) != "two" {
		t.Fatalf("next: %q %v %v", msg.Payload, ok, err)
	}
	if _, ok, err := q.TryPop(ctx, time.Minute); ok || err != nil {
		t.Fatalf("the push that gave up was delivered (%v, %v)", ok, err)
	}
}
