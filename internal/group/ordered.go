package group

import "sync"

// Ordered runs batches in two stages. Up to Depth batches run their first
// stage (prepare) at once; their second stages (commit) run one at a time,
// in the order the batches began. It pipelines work whose slow part can
// overlap (writing and fsyncing a temp file) but whose effect must stay in
// order (the rename that publishes it): a later batch never commits before
// an earlier one.
//
// As with Queue, a caller joins only a batch that has not begun.
type Ordered[T any] struct {
	// Depth is how many batches may be in flight; less than 1 means 1.
	Depth int

	mu      sync.Mutex
	running int
	pending []*orderedBatch[T]
	tail    chan struct{} // closed when the newest begun batch has committed
}

type orderedBatch[T any] struct {
	items []T
	turn  chan struct{} // closed when the batch may begin
	done  chan struct{} // closed when the batch has finished
	prev  chan struct{} // the batch before it in line (nil if none)
	mine  chan struct{} // closed when this batch has committed or given up
	err   error
}

// begin fixes b's place in line and lets it run. It is called with q.mu
// held, at the moment b leaves the pending list, so that the order of
// commits is the order in which batches stopped accepting items.
func (q *Ordered[T]) begin(b *orderedBatch[T]) {
	b.prev, b.mine = q.tail, make(chan struct{})
	q.tail = b.mine
	close(b.turn)
}

// Do adds item to a batch and waits until that batch has finished,
// returning its error. prepare runs first; commit runs after it, once every
// batch that began earlier has finished, and is skipped if prepare failed.
// join works as for Queue.Do.
func (q *Ordered[T]) Do(item T, join func([]T, T) bool, prepare, commit func([]T) error) error {
	q.mu.Lock()
	if n := len(q.pending); n > 0 {
		if b := q.pending[n-1]; join == nil || join(b.items, item) {
			b.items = append(b.items, item)
			q.mu.Unlock()
			<-b.done
			return b.err
		}
	}
	b := &orderedBatch[T]{items: []T{item}, turn: make(chan struct{}), done: make(chan struct{})}
	if q.running < max(q.Depth, 1) && len(q.pending) == 0 {
		q.running++
		q.begin(b)
	} else {
		q.pending = append(q.pending, b)
	}
	q.mu.Unlock()

	<-b.turn
	b.err = prepare(b.items)
	if b.prev != nil {
		<-b.prev
	}
	if b.err == nil {
		b.err = commit(b.items)
	}
	close(b.mine)
	close(b.done)

	q.mu.Lock()
	if len(q.pending) > 0 {
		next := q.pending[0]
		q.pending[0] = nil
		q.pending = q.pending[1:]
		q.begin(next)
	} else {
		q.running--
	}
	q.mu.Unlock()
	return b.err
}
