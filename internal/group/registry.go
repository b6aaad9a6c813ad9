package group

import "sync"

// Registry hands out one Queue per key (a file or directory path), and
// forgets a key once nobody uses its Queue, so a long-running process that
// writes many different files does not grow without bound.
type Registry[K comparable, T any] struct {
	mu sync.Mutex
	m  map[K]*entry[T]
}

type entry[T any] struct {
	q    Queue[T]
	refs int
}

// Do is Queue.Do on the Queue for key.
func (r *Registry[K, T]) Do(key K, item T, join func([]T, T) bool, run func([]T) error) error {
	r.mu.Lock()
	if r.m == nil {
		r.m = make(map[K]*entry[T])
	}
	e := r.m[key]
	if e == nil {
		e = &entry[T]{}
		r.m[key] = e
	}
	e.refs++
	r.mu.Unlock()

	err := e.q.Do(item, join, run)

	r.mu.Lock()
	if e.refs--; e.refs == 0 {
		delete(r.m, key)
	}
	r.mu.Unlock()
	return err
}

// Len reports how many keys are in use.
func (r *Registry[K, T]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}
