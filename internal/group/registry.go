package group

import (
	"context"
	"sync"
)

// Registry runs Queue.Do on one Queue per key, such as a file or directory
// path, made when first needed and forgotten once idle.
type Registry[K comparable, T any] struct {
	pool Pool[K, Queue[T]]
}

// Do is Queue.Do on the Queue for key.
func (r *Registry[K, T]) Do(ctx context.Context, key K, item T, join func([]T, T) bool, run func(*Batch[T]) error) error {
	q, release := r.pool.Acquire(key)
	defer release()
	return q.Do(ctx, item, join, run)
}

// Len reports how many keys are in use.
func (r *Registry[K, T]) Len() int { return r.pool.Len() }

// Waiting is Queue.Waiting on the Queue for key.
func (r *Registry[K, T]) Waiting(key K) int {
	q, release := r.pool.Acquire(key)
	defer release()
	return q.Waiting()
}

// Pool hands out one Q per key, and forgets a key once nobody uses it, so
// a long-running process that writes many different files does not grow
// without bound.
type Pool[K comparable, Q any] struct {
	// New makes the queue for a key; nil means new(Q).
	New func() *Q

	mu sync.Mutex
	m  map[K]*entry[Q]
}

type entry[Q any] struct {
	q    *Q
	refs int
}

// Acquire returns the queue for key and a function to call when done with
// it.
func (r *Pool[K, Q]) Acquire(key K) (*Q, func()) {
	r.mu.Lock()
	if r.m == nil {
		r.m = make(map[K]*entry[Q])
	}
	e := r.m[key]
	if e == nil {
		e = &entry[Q]{}
		if r.New != nil {
			e.q = r.New()
		} else {
			e.q = new(Q)
		}
		r.m[key] = e
	}
	e.refs++
	r.mu.Unlock()
	return e.q, func() {
		r.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(r.m, key)
		}
		r.mu.Unlock()
	}
}

// Len reports how many keys are in use.
func (r *Pool[K, Q]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}
