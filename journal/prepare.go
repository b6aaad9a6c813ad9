package journal

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/internal/mutate"
)

// prepared holds the next batch's record frames and Merkle state, built
// while the running batch's flush waits on the disk. At hundreds of
// writers, framing and hashing a batch (about a microsecond a record)
// between two flushes left the disk idle for a third of the time; built
// during the flush, they are ready when the next batch's turn comes, and
// its leader only adds the commit frame.
//
// The callers who join the next batch build it (Queue.Joined, prepare),
// from the state the running batch will leave if its write and flush
// succeed (start). Nothing prepared is written before that batch's run
// adopts it, and it adopts it only if the journal is in exactly that state
// then (adopt): a failed write or flush, another process's records, a
// rotation or a recovery note all leave the journal elsewhere, and the
// batch is then framed afresh. So a failed flush fails only what it
// covered, and the next batch is written after it as it was before.
type prepared struct {
	mu sync.Mutex
	// active: a running batch is between start and stop, and its
	// successor may be prepared. Read without mu, so that a caller who
	// joins when there is nothing to do pays an atomic load.
	active atomic.Bool

	// The rest is guarded by mu.
	batch    *group.Batch[*request] // the batch prepared, once one is seen
	seg      *segment               // where it will be written, at end
	end      int64
	capacity int64   // seg's capacity for records and their commit frame
	first    uint64  // the index of its first record
	base     compact // the tree before it
	tree     compact // the tree after the prepared records
	buf      []byte  // their frames; never the buffer a write is using
	reqs     []*request
	n        uint64 // records in buf
	// full: an item was met that may not be prepared (an operation, a
	// caller whose context can end and so leave the batch, or records
	// that do not fit in the segment); nothing after it is prepared.
	full    bool
	leafH   leafHasher
	scratch []*request
}

// start lets the callers of the batch after the running one prepare it,
// from the state the journal will be in once the running batch's buf,
// written at end in seg, is flushed: next records, tree.
func (p *prepared) start(seg *segment, end, capacity int64, next uint64, tree compact) {
	p.mu.Lock()
	p.batch, p.seg, p.end, p.capacity, p.first = nil, seg, end, capacity, next
	p.base.size, p.base.hashes = tree.size, append(p.base.hashes[:0], tree.hashes...)
	p.tree.size, p.tree.hashes = tree.size, append(p.tree.hashes[:0], tree.hashes...)
	p.buf = p.buf[:0]
	clear(p.reqs)
	p.reqs, p.n, p.full = p.reqs[:0], 0, false
	if p.leafH.h == nil {
		p.leafH = newLeafHasher()
	}
	p.active.Store(true)
	p.mu.Unlock()
}

// stop ends the preparation started by the running batch, once its
// write and flush have returned, before the queue hands the turn on: a
// caller who prepares when it has passed would take the batch after next
// for the next one. It returns once nobody prepares.
func (p *prepared) stop() {
	p.active.Store(false)
	p.mu.Lock()
	//lint:ignore SA2001 an empty critical section: it waits for a preparer
	p.mu.Unlock()
}

// prepare frames and hashes the items of the next batch that are not yet,
// in arrival order. A caller that finds another preparing leaves it the
// work: it looks again for items before it lets go, and what it misses
// the run does.
func (j *Journal) prepare() {
	p := &j.prep
	if !p.active.Load() || !p.mu.TryLock() {
		return
	}
	defer p.mu.Unlock()
	for p.active.Load() && !p.full {
		items, b := j.q.Upcoming(p.scratch[:0], len(p.reqs))
		p.scratch = items[:0]
		if b == nil || len(items) == 0 {
			return
		}
		if p.batch == nil {
			p.batch = b
		} else if p.batch != b {
			// The batch prepared went (every caller in it left) before
			// it could run: its items are no prefix of this one's.
			p.full = true
			return
		}
		for _, r := range items {
			if !p.active.Load() {
				return
			}
			if !p.add(r) {
				p.full = true
				return
			}
		}
		clear(items)
	}
}

// add appends r's frames and leaves, unless r may not be prepared.
// Callers whose context can end are not: such a caller may leave the
// batch before it runs, which moves every record after it, and its
// payload is no longer the journal's to read.
func (p *prepared) add(r *request) bool {
	if r.op != nil || r.ctx.Done() != nil {
		return false
	}
	need := p.end + int64(len(p.buf)) + commitSize
	for _, pl := range r.payloads {
		need += align8(frameHeader + int64(len(pl)))
	}
	if need > p.capacity {
		return false
	}
	for _, pl := range r.payloads {
		start := len(p.buf)
		p.buf = appendFrame(p.buf, r.typ, p.first+p.n, r.t, pl)
		p.tree.push(p.leafH.sum(p.buf[start+8 : start+frameHeader+len(pl)]))
		p.n++
	}
	p.reqs = append(p.reqs, r)
	return true
}

// adopt hands the running batch b what was prepared for it, if it was
// prepared for b and from the journal's present state, and if its
// requests begin reqs, the batch's claimed requests in order. It returns
// the frames, the tree after them, their count and how many requests they
// hold (0 when nothing is adopted); the frames' buffer is spare, the one
// the preparation gets in exchange.
func (j *Journal) adopt(b *group.Batch[*request], reqs []*request, spare []byte) (buf []byte, tree compact, n uint64, k int) {
	p := &j.prep
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.batch != b || b == nil || len(p.reqs) == 0 || len(p.reqs) > len(reqs) {
		return nil, compact{}, 0, 0
	}
	if !mutate.JournalPrepStale && (p.seg != j.seg || j.sealed || p.end != j.end || p.first != j.next ||
		p.base.size != j.tree.size || !slices.Equal(p.base.hashes, j.tree.hashes)) {
		return nil, compact{}, 0, 0
	}
	for i, r := range p.reqs {
		if reqs[i] != r {
			return nil, compact{}, 0, 0
		}
	}
	buf, p.buf = p.buf, spare[:0]
	tree = compact{size: p.tree.size, hashes: slices.Clone(p.tree.hashes)}
	n, k = p.n, len(p.reqs)
	j.adopted += n
	clear(p.reqs)
	p.reqs, p.n, p.batch = p.reqs[:0], 0, nil
	return buf, tree, n, k
}
