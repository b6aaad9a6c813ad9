package queue

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/journal"
)

// refresh catches up with what other processes committed. It asks the
// journal for its size first (a 4-byte read under the lock), outside q.mu:
// the journal may be running an update that needs q.mu.
func (q *Queue) refresh() error {
	size, _, err := q.j.Head(context.Background())
	if err != nil {
		return err
	}
	q.mu.Lock()
	err = q.catchUp(size, q.j.Scan)
	q.mu.Unlock()
	q.report()
	return err
}

// catchUp applies the committed records from st.seen up to size. Caller
// holds q.mu. A state loaded from a snapshot is first matched with the
// journal (snapfile.go); a gap (records dropped by another process's
// compaction before this one read them) makes it reload the snapshot, or
// rebuild the state from scratch. scan is the journal's Scan, or, under
// the lock, the Tx's, which reads the segment the journal has open.
func (q *Queue) catchUp(size uint64, scan func(from uint64) iter.Seq2[journal.Record, error]) error {
	if q.st.seen >= size && !q.st.fresh && !q.st.check {
		return nil
	}
	for range 6 {
		gap, stale, found, first := false, false, false, uint64(0)
		from := q.st.seen
		if q.st.check {
			from--
		}
		for rec, err := range scan(from) {
			if err != nil {
				return err
			}
			if q.st.check {
				found, first = true, rec.Index
				if rec.Index != q.st.seen-1 || recordSum(rec.Type, rec.Payload) != q.st.sum {
					stale = true
					break
				}
				q.st.check = false
				continue
			}
			if rec.Index >= size {
				break
			}
			if rec.Index < q.st.seen {
				continue
			}
			if rec.Index > q.st.seen {
				if !q.st.fresh {
					gap = true
					break
				}
				q.st.seen, q.st.base = rec.Index, rec.Index
			}
			if rec.Type == journal.TypeData {
				e, err := decodeEvent(rec.Payload)
				if err != nil {
					return fmt.Errorf("record %d: %w", rec.Index, err)
				}
				q.note(rec.Index, &e)
				q.st.applyEvent(rec.Index, &e)
			}
			q.st.sum = recordSum(rec.Type, rec.Payload)
			q.st.fresh = false
			q.st.seen = rec.Index + 1
		}
		if q.st.check {
			stale = true
		}
		if stale {
			q.stale(found, first)
			q.cache.clear()
			continue
		}
		if gap {
			q.reload()
			q.cache.clear()
			continue
		}
		if q.st.seen < size {
			if q.st.fresh {
				q.st.seen, q.st.base = size, size // nothing left below size
				return nil
			}
			return fmt.Errorf("%w: journal ends at %d, before %d", durable.ErrCorrupt, q.st.seen, size)
		}
		return nil
	}
	return errors.New("records keep being dropped while the state is rebuilt")
}

// txn is one operation that decides against the state under the lock.
// decide emits the operation's events; each is applied to the state at
// once, so the next decision in the batch sees it.
type txn struct {
	ctx    context.Context
	dur    durability
	bytes  int // payload bytes it writes (pushes)
	decide func(now int64, emit func(event)) error
	err    error
}

// durability is what an operation needs of its events before it returns.
type durability uint8

const (
	synced   durability = iota // flushed: every operation but Pop
	unsynced                   // written under the lock, maybe not flushed: Pop's lease (doc.go says why)
	broken                     // mutation builds only: written by the journal that never flushes
)

// mutated is broken when a mutation switch is on, synced otherwise.
func mutated(on bool) durability {
	if on {
		return broken
	}
	return synced
}

// maxBatch and maxBatchBytes bound one batch of operations, and the
// payload bytes it gathers.
const (
	maxBatch      = 256
	maxBatchBytes = 4 << 20
)

// batch is a batch of operations in q.g.
type batch = group.Batch[*txn]

// update runs decide under the directory's lock with the state caught up
// and returns once its events are written, and flushed unless dur is
// unsynced. Concurrent updates in this process go through one queue (q.g)
// and share one lock, one write and one flush (group commit); while other
// processes append, the flush runs after the lock is let go and is shared
// with theirs (journal.Journal.WithLockShared). A flushed batch that
// holds the lock takes the flushed batches that queued while it waited for
// it into its write and flush. Pops form
// batches of their own, which need no flush: each flushed batch takes the
// pop batches waiting when it starts into its write and lets them go
// before its flush, and, right after the flush and still under the lock,
// writes the pop batches that arrived meanwhile. A pop batch whose turn
// comes runs alone, unless the last write was not flushed (the next write
// flushes, whatever it is told): it then takes a flushed batch that waits
// and runs with it as its early pops. While other processes append (the
// flush is left for after the lock), a turn that handed out messages
// then writes, as a second batch under the same flush, the flushed
// operations that came meanwhile, such as the acks of those messages
// (chase).
func (q *Queue) update(ctx context.Context, dur durability, decide func(now int64, emit func(event)) error) error {
	return q.updateN(ctx, dur, 0, decide)
}

func (q *Queue) updateN(ctx context.Context, dur durability, bytes int, decide func(now int64, emit func(event)) error) error {
	t := &txn{ctx: ctx, dur: dur, bytes: bytes, decide: decide}
	err := q.g.Do(ctx, t, joinTxns, q.run)
	q.report()
	if err != nil {
		return err
	}
	return t.err
}

// joinTxns keeps pops, flushed operations and (in mutation builds) broken
// ones in batches of their own, within maxBatch and maxBatchBytes.
func joinTxns(b []*txn, t *txn) bool {
	// The bytes are q.g's to bound (Weight): it keeps each batch's sum.
	return len(b) < maxBatch && b[0].dur == t.dur
}

func txnBytes(t *txn) int { return t.bytes }

func isPops(ts []*txn) bool    { return ts[0].dur == unsynced }
func isFlushed(ts []*txn) bool { return ts[0].dur == synced }

// hold is q.g.Hold: a flushed batch waits for the acks due (gather.go);
// pops never wait.
func (q *Queue) hold(ts []*txn) {
	if !isPops(ts) {
		q.gat.hold()
	}
}

// claim returns the operations of bs that are still wanted: those whose
// callers gave up are left out (they were answered with their context's
// error), and the others are committed to.
func claim(bs ...*batch) []*txn {
	var ts []*txn
	for _, b := range bs {
		for i, t := range b.Items() {
			if b.Claim(i) {
				ts = append(ts, t)
			}
		}
	}
	return ts
}

// decideAll decides ts against the state, caught up to size, and returns
// their events. Caller holds q.mu.
func (q *Queue) decideAll(size uint64, scan func(uint64) iter.Seq2[journal.Record, error], ts []*txn) ([][]byte, error) {
	if err := q.catchUp(size, scan); err != nil {
		return nil, err
	}
	now := q.now()
	var recs [][]byte
	emit := func(e event) {
		b := e.encode()
		if e.Kind == kindPush || e.Kind == kindMove {
			// The cache keeps the record's copy, not the caller's.
			e.Payload = b[len(b)-len(e.Payload):]
		}
		q.note(q.st.seen, &e)
		q.st.applyEvent(q.st.seen, &e)
		q.st.sum = recordSum(journal.TypeData, b)
		q.st.seen++
		q.st.fresh = false
		recs = append(recs, b)
	}
	for _, t := range ts {
		t.err = t.decide(now, emit)
	}
	return recs, nil
}

// forget drops the state after a failed write: it may hold events that
// were not committed, so it is rebuilt from the files (the snapshot and
// the journal after it). The cache goes too: a wiped record's index will
// hold another record.
func (q *Queue) forget() {
	q.mu.Lock()
	q.cache.clear()
	q.reload()
	q.mu.Unlock()
}

// stealPops takes over the pop batches waiting, at most maxBatch pops.
func stealPops(b *batch) []*batch {
	var pops []*batch
	n := 0
	for n < maxBatch {
		p := b.StealAny(func(ts []*txn) bool { return isPops(ts) && n+len(ts) <= maxBatch })
		if p == nil {
			break
		}
		pops = append(pops, p)
		n += p.Len()
	}
	return pops
}

// stealFlushed takes over the batches of flushed operations waiting, as
// many as fit with have (the flushed batches the run holds already) within
// maxBatch operations and maxBatchBytes.
func stealFlushed(b *batch, have []*batch) []*batch {
	n, bytes := 0, 0
	add := func(ts []*txn) {
		n += len(ts)
		for _, t := range ts {
			bytes += t.bytes
		}
	}
	for _, f := range have {
		add(f.Items())
	}
	var fs []*batch
	for {
		f := b.StealAny(func(ts []*txn) bool {
			if !isFlushed(ts) || n+len(ts) > maxBatch {
				return false
			}
			w := 0
			for _, t := range ts {
				w += t.bytes
			}
			return bytes+w <= maxBatchBytes
		})
		if f == nil {
			return fs
		}
		fs = append(fs, f)
		add(f.Items())
	}
}

// run runs one batch: flushed operations with the pop batches waiting, or
// pops alone (see update), or, in mutation builds, broken operations.
func (q *Queue) run(b *batch) error {
	if b.Items()[0].dur == broken {
		ctx, stop := b.Context()
		defer stop()
		_, err := q.bad.Update(ctx, func(size uint64) ([][]byte, error) {
			q.mu.Lock()
			defer q.mu.Unlock()
			return q.decideAll(size, q.j.Scan, claim(b))
		})
		if err != nil {
			q.forget()
		}
		return err
	}
	// The lock is waited for until every caller has given up. Once it is
	// held, the batch's writes are shared with pops and operations taken
	// over, so no caller's context may end them any more: tx's context
	// is one that ctx cancels only until then.
	ctx, stopCtx := b.Context()
	defer stopCtx()
	txCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	stop := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })

	var flushed, early, late []*batch
	if isPops(b.Items()) {
		early = []*batch{b}
	} else {
		flushed = []*batch{b}
	}
	ran := false
	start := time.Now()
	var lateErr error
	// WithLockShared: when other processes append too, the batch's flush
	// runs after the lock is let go and is shared with theirs (the
	// journal's flush marks), so they write while it runs; alone, it is
	// WithLock. Either way the batch is durable when it returns.
	err := q.j.WithLockShared(group.OwnCode(txCtx), func(tx *journal.Tx) error {
		if !stop() {
			return context.Cause(ctx) // ended before the lock was held: nothing written
		}
		ran = true
		if flushed == nil {
			// A flushed batch that waits shares this turn of the lock:
			// the pops are let go once written, before the flush, so
			// they do not wait for it, and the flushed batch does not
			// wait for a turn of its own (with other processes taking
			// turns, that turn came after all of theirs).
			f := b.StealAny(isFlushed)
			if f == nil {
				// Pops alone: written, not flushed.
				if err := q.runPops(tx, claim(b)); err != nil || !tx.SharesFlush() {
					return err
				}
				// While other processes append, the acks of
				// these pops follow them in this turn (chase),
				// flushed after the lock: the pops are let go
				// first, as they need no flush.
				b.Finish(nil)
				q.chase(tx, b)
				return nil
			}
			flushed = []*batch{f}
		}
		// Flushed operations that came while the lock was awaited share
		// this write and flush rather than wait for the next turn, which
		// comes only after this flush and, while other processes append,
		// after all of theirs: with 4 processes of 4 goroutines a batch
		// waited ~0.4 ms for the lock, the callers its predecessor
		// answered (pushing again, acking) came back meanwhile, and
		// turns carried 2.3 flushed operations out of 4 goroutines.
		// Alone, the lock is taken at once and fewer are waiting, but
		// those few still save a flush each: with 1 process of 16
		// goroutines it cut flushes per message by a quarter.
		flushed = append(flushed, stealFlushed(b, flushed)...)
		// Pops waiting now share the batch's write and are let go once
		// it is written, before its flush, which they do not need:
		// their consumers work, and ack into the next batch, while this
		// one is flushed.
		early = append(early, stealPops(b)...)
		released := false
		release := func(err error) {
			if !released {
				released = true
				for _, p := range early {
					p.Finish(err)
				}
			}
		}
		q.mu.Lock()
		recs, err := q.decideAll(tx.Size(), tx.Scan, append(claim(early...), claim(flushed...)...))
		q.mu.Unlock()
		if err != nil {
			release(err)
			return err
		}
		if _, err := tx.AppendFlushedThen(recs, func() { release(nil) }); err != nil {
			release(err)
			return err
		}
		release(nil)
		if tx.Unflushed() {
			// The flush is left for after the lock, shared with other
			// processes. The consumers just handed messages often
			// answer at once: their acks join this turn as a second
			// batch under the same flush (chase) rather than wait for
			// this process's next turn.
			if len(early) > 0 {
				q.chase(tx, b)
			}
			return nil
		}
		// The batch is durable; the lock is still held. Pops that
		// arrived meanwhile need no flush: decide and write them now
		// rather than after another turn for the lock.
		late = stealPops(b)
		lateErr = q.runPops(tx, claim(late...))
		return nil
	})
	if err != nil && ran {
		q.forget()
	}
	if len(flushed) > 0 {
		q.gat.flushed(time.Since(start))
	}
	for _, p := range late {
		p.Finish(lateErr)
	}
	return err // for b, and for the batches taken over not yet answered
}

// runPops decides pops and writes their leases without a flush. Caller
// holds the journal's lock (inside tx).
func (q *Queue) runPops(tx *journal.Tx, pops []*txn) error {
	if len(pops) == 0 {
		return nil
	}
	q.mu.Lock()
	recs, err := q.decideAll(tx.Size(), tx.Scan, pops)
	q.mu.Unlock()
	if err == nil {
		_, err = tx.AppendUnflushed(recs)
	}
	if err != nil {
		q.forget()
	}
	return err
}

func (q *Queue) signal() {
	q.wmu.Lock()
	close(q.wake)
	q.wake = make(chan struct{})
	q.wmu.Unlock()
}

func (q *Queue) wakeChan() <-chan struct{} {
	q.wmu.Lock()
	defer q.wmu.Unlock()
	return q.wake
}

// chase writes the flushed operations that came while tx's turn of the
// lock was held, with the pops waiting then, as a second batch of the
// turn, whose flush is the one left for after the lock
// (journal.Tx.AppendFlushedShared): the flushed operations are answered
// with the run's, when it returns; the pops once written. tx shares its
// flush, and the turn handed out messages just before.
//
// A consumer's loop is Pop, work, Ack. Without this, the Ack of a
// message handed out in a turn waited for this process's next turn,
// which, while other processes append, comes after all of theirs: a
// message took three turns (push, pop, ack) rather than two. With 4
// processes of 4 goroutines pushing, popping and acking on ext4, it gave
// 2–12% more messages per second in each of 7 runs interleaved with the
// plain path (a noisy 2-core VM shared with other work), and turns per
// message went from 0.77 to 0.67; on tmpfs, where the turns cost CPU
// rather than flushes, it made no difference (−2% and +3%).
//
// It does not wait for the acks while holding the lock: waiting for
// consumers to be scheduled (gather.hold) with the lock held kept the
// other processes waiting, and cost a third of the throughput. One yield
// lets those that the write made runnable on this processor ack first;
// the others ack into the next turn, as before.
//
// A failure answers the operations it took with its error, and the state
// is rebuilt from the files (forget); the turn's first batch keeps its
// own outcome: it was written, and the flush after the lock makes it
// durable.
func (q *Queue) chase(tx *journal.Tx, b *batch) {
	runtime.Gosched()
	flushed := stealFlushed(b, nil)
	if len(flushed) == 0 {
		return
	}
	pops := stealPops(b)
	q.mu.Lock()
	recs, err := q.decideAll(tx.Size(), tx.Scan, append(claim(pops...), claim(flushed...)...))
	q.mu.Unlock()
	if err == nil {
		_, err = tx.AppendFlushedShared(recs, func() {
			for _, p := range pops {
				p.Finish(nil)
			}
		})
	}
	if err != nil {
		q.forget()
		for _, f := range append(pops, flushed...) {
			f.Finish(err)
		}
		return
	}
	q.chased.Add(1)
}
