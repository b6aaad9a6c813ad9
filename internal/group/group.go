// Package group runs work in batches so that concurrent callers share one
// expensive step: one fsync of a directory, one replace of a file.
//
// A caller that arrives while a batch is running joins the next batch, never
// the running one. That is the rule that keeps group commit honest: nobody is
// acknowledged by an fsync (or a replace) that began before their request.
package group

import "sync"

// Queue runs batches one after another. The zero value is ready.
type Queue[T any] struct {
	// Hold, if set, is called by the caller that leads a batch when the
	// batch's turn has come, before the batch stops taking items: it may
	// wait a little for items it expects (package queue: the acks of
	// messages it has just delivered). The batch runs once Hold returns.
	Hold func()

	mu      sync.Mutex
	running bool
	pending []*batch[T] // batches waiting for their turn, oldest first
	next    *batch[T]   // the batch whose turn has come, while it still takes items
}

type batch[T any] struct {
	items []T
	open  bool          // still accepting items (has not started)
	turn  chan struct{} // closed when this batch may start
	done  chan struct{} // closed when run has returned
	err   error
}

// Do adds item to a batch and waits until that batch has run, returning the
// error run returned for it. join reports whether item may share a batch
// that already holds items; when it says no, item starts a batch of its own
// behind the others. run receives the batch's items in arrival order and is
// called by exactly one of the batch's callers, never concurrently with
// another batch of the same Queue.
func (q *Queue[T]) Do(item T, join func(batch []T, item T) bool, run func(batch []T) error) error {
	q.mu.Lock()
	if !q.running && q.Hold == nil {
		q.running = true
		q.mu.Unlock()
		err := run([]T{item})
		q.handOver()
		return err
	}
	last := q.next
	if n := len(q.pending); n > 0 {
		last = q.pending[n-1]
	}
	if last != nil && last.open && (join == nil || join(last.items, item)) {
		last.items = append(last.items, item)
		q.mu.Unlock()
		<-last.done
		return last.err
	}
	b := &batch[T]{items: []T{item}, open: true, turn: make(chan struct{}), done: make(chan struct{})}
	if q.running {
		q.pending = append(q.pending, b)
	} else {
		q.running, q.next = true, b
		close(b.turn)
	}
	q.mu.Unlock()

	// The caller that opened the batch leads it.
	<-b.turn
	if q.Hold != nil {
		q.Hold()
	}
	q.mu.Lock()
	b.open = false
	q.next = nil
	items := b.items
	q.mu.Unlock()
	b.err = run(items)
	close(b.done)
	q.handOver()
	return b.err
}

// handOver hands the queue to the oldest waiting batch, or marks it idle.
func (q *Queue[T]) handOver() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		q.running = false
		return
	}
	b := q.pending[0]
	q.pending[0] = nil
	q.pending = q.pending[1:]
	q.next = b
	close(b.turn)
}

// Idle reports whether no batch is running or waiting.
func (q *Queue[T]) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.running && len(q.pending) == 0
}
