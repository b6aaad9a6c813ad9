package store

import "sync"

// Batching. Concurrent requests for one file in this process form batches:
// a request that arrives while a batch runs joins the next one, so nobody is
// answered by a write that began before their change was applied. One caller
// per batch runs it; the others wait. A running batch may also take over
// the waiting one (steal) before it starts writing: those changes are then
// applied, after its own, before the write, which keeps batches large when
// callers come back as soon as they are answered.

type job interface{ owner() any }

type batcher struct {
	mu      sync.Mutex
	running bool
	pending []*batch
}

type batch struct {
	items []job
	open  bool
	turn  chan struct{} // closed when the batch may start
	done  chan struct{} // closed when it has run
}

// do adds item to a batch of items with the same owner and returns when
// that batch has run.
func (q *batcher) do(item job, run func([]job)) {
	q.mu.Lock()
	if !q.running && len(q.pending) == 0 {
		q.running = true
		q.mu.Unlock()
		defer q.next()
		run([]job{item})
		return
	}
	if n := len(q.pending); n > 0 {
		if b := q.pending[n-1]; b.open && b.items[0].owner() == item.owner() {
			b.items = append(b.items, item)
			q.mu.Unlock()
			<-b.done
			return
		}
	}
	b := &batch{items: []job{item}, open: true, turn: make(chan struct{}), done: make(chan struct{})}
	q.pending = append(q.pending, b)
	q.mu.Unlock()
	select {
	case <-b.turn:
	case <-b.done:
		return // stolen and run by the batch before
	}
	q.mu.Lock()
	b.open = false
	items := b.items
	q.mu.Unlock()
	defer q.next()
	defer close(b.done)
	run(items)
}

// steal takes the items of the next waiting batch if they belong to owner.
// The caller must call done once it has answered them.
func (q *batcher) steal(owner any) (items []job, done func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return nil, nil
	}
	b := q.pending[0]
	if !b.open || b.items[0].owner() != owner {
		return nil, nil
	}
	q.pending[0] = nil
	q.pending = q.pending[1:]
	b.open = false
	return b.items, func() { close(b.done) }
}

func (q *batcher) next() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		q.running = false
		return
	}
	b := q.pending[0]
	q.pending[0] = nil
	q.pending = q.pending[1:]
	close(b.turn)
}

// One batcher per file, shared by every Store of it in this process and
// forgotten when idle.
var batchers struct {
	sync.Mutex
	m map[queueKey]*batcherRef
}

type batcherRef struct {
	q    batcher
	refs int
}

func withShared(key queueKey, fn func(*batcher)) {
	batchers.Lock()
	if batchers.m == nil {
		batchers.m = map[queueKey]*batcherRef{}
	}
	e := batchers.m[key]
	if e == nil {
		e = &batcherRef{}
		batchers.m[key] = e
	}
	e.refs++
	batchers.Unlock()
	defer func() {
		batchers.Lock()
		if e.refs--; e.refs == 0 {
			delete(batchers.m, key)
		}
		batchers.Unlock()
	}()
	fn(&e.q)
}
