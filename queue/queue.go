package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/vfs"
)

// Defaults for Options.
const (
	DefaultMaxAttempts    = 5
	DefaultSegmentSize    = 1 << 20
	DefaultCompactRecords = 4096
	DefaultPollInterval   = 20 * time.Millisecond
)

// MaxPayload is the largest message payload.
const MaxPayload = journal.MaxPayload - 2

// Errors of the queue's own. The durable sentinels (durable.ErrCorrupt,
// durable.ErrClosed, ...) keep their meaning.
var (
	// ErrNotFound: no live message has this ID: it was acknowledged or
	// purged (or never pushed). A second Ack of a message gets it.
	ErrNotFound = errors.New("queue: no such message (acknowledged, purged or never pushed)")
	// ErrNotLeased: the message is not leased (Nack, Extend), or is not a
	// dead letter (Retry, Purge), or is a dead letter (Ack).
	ErrNotLeased = errors.New("queue: message is not in the state the operation needs")
	// ErrLeaseExpired: Extend found the lease already over.
	ErrLeaseExpired = errors.New("queue: lease expired")
	// ErrTooLarge: a payload is larger than MaxPayload.
	ErrTooLarge = errors.New("queue: payload larger than MaxPayload")
	// ErrLeaseLost: the receipt names a lease that is no longer the
	// message's: its lease ran out and it was delivered again (or
	// nacked and delivered again). Ack, Nack and Extend refuse it, so
	// that a consumer that lost its lease cannot end the new holder's.
	// It wraps durable.ErrConflict.
	ErrLeaseLost = fmt.Errorf("queue: lease lost: the message was delivered again since this receipt was given: %w", durable.ErrConflict)
)

// Receipt names one lease of one message: the message and the delivery
// that leased it. Pop hands it out (Msg.Receipt); Ack, Nack and Extend act
// only on the lease it names. A message dead-lettered and retried counts
// its deliveries from 1 again, so a receipt from before a Retry can name a
// lease after it.
type Receipt struct {
	ID      ID
	Attempt int
}

// String returns "ID.ATTEMPT", the form ParseReceipt reads.
func (r Receipt) String() string { return fmt.Sprintf("%d.%d", r.ID, r.Attempt) }

// ParseReceipt parses the form String gives.
func ParseReceipt(s string) (Receipt, error) {
	id, at, ok := strings.Cut(s, ".")
	n, err := strconv.ParseUint(id, 10, 64)
	a, aerr := strconv.ParseUint(at, 10, 31)
	if !ok || err != nil || aerr != nil || a == 0 {
		return Receipt{}, fmt.Errorf("queue: bad receipt %q (want ID.ATTEMPT, as Pop gives it)", s)
	}
	return Receipt{ID: ID(n), Attempt: int(a)}, nil
}

// ID names a message for its whole life: the index of the journal record
// that pushed it. IDs grow in push order.
type ID uint64

func (id ID) String() string { return strconv.FormatUint(uint64(id), 10) }

// ParseID parses the decimal form String gives.
func ParseID(s string) (ID, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("queue: bad message id %q", s)
	}
	return ID(n), nil
}

// Msg is a delivered message.
type Msg struct {
	ID      ID
	Payload []byte
	// Attempt counts deliveries, this one included: 1 the first time.
	Attempt int
	// LeaseUntil is when the lease ends and the message becomes
	// available to others again, unless acknowledged, nacked or extended.
	LeaseUntil time.Time
}

// Receipt names this delivery's lease, for Ack, Nack and Extend.
func (m Msg) Receipt() Receipt { return Receipt{ID: m.ID, Attempt: m.Attempt} }

// DeadMsg is a dead letter: a message that failed MaxAttempts times.
type DeadMsg struct {
	ID       ID
	Payload  []byte
	Attempts int
}

// Stats counts the live messages.
type Stats struct {
	Ready   int // available now (including those whose lease expired)
	Delayed int // nacked with a delay that has not passed
	Leased  int // delivered, lease running
	Dead    int // dead letters
}

// Options configure a queue. The zero value, like nil, gives the full
// guarantee.
type Options struct {
	// FS is the filesystem (vfs.OS{} by default).
	FS vfs.FS
	// MaxAttempts is how many deliveries a message gets before it becomes
	// a dead letter (DefaultMaxAttempts; negative: unlimited).
	MaxAttempts int
	// SegmentSize is the journal's segment size (DefaultSegmentSize). A
	// drained queue shrinks to about one segment.
	SegmentSize int64
	// CompactRecords is how many records accumulate before the queue
	// reclaims space (DefaultCompactRecords).
	CompactRecords int
	// PollInterval is how often a waiting Pop looks for messages other
	// processes pushed (DefaultPollInterval).
	PollInterval time.Duration
	// Now is the clock for leases and delays (time.Now).
	Now func() time.Time
	// ReadOnly opens the queue for Stats and Dead only: no lock is taken
	// and nothing is written or recovered (a crash's torn tail is left
	// for a writer to cut, unseen). Works on a full disk.
	ReadOnly bool
}

// Queue is a persistent work queue in a directory. Its methods are safe
// for concurrent use, and any number of processes may open the same
// directory at once.
type Queue struct {
	dir string
	o   Options
	j   *journal.Journal
	bad *journal.Journal // mutation builds only: a journal that skips fsync

	mu sync.Mutex // guards st
	st *state

	wmu    sync.Mutex
	wake   chan struct{} // closed and replaced when a local change may make a message available
	done   chan struct{}
	closed atomic.Bool
	cmp    atomic.Bool       // a compaction runs
	g      group.Queue[*txn] // operations, in batches (see update)
	gat    gather            // holds flushed batches open for due acks
}

// Open opens (creating if needed) the queue in dir and rebuilds its state
// from the journal.
func Open(dir string, opts *Options) (*Queue, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.FS == nil {
		o.FS = vfs.OS{}
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.CompactRecords <= 0 {
		o.CompactRecords = DefaultCompactRecords
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	j, err := journal.Open(dir, &journal.Options{FS: o.FS, SegmentSize: o.SegmentSize, Now: o.Now, Origin: "durable-queue", ReadOnly: o.ReadOnly})
	if err != nil {
		return nil, err
	}
	q := &Queue{dir: dir, o: o, j: j, st: newState(), wake: make(chan struct{}), done: make(chan struct{})}
	q.g.Hold = q.hold
	if (mutate.QueueAckBeforeSync || mutate.QueuePushBeforeSync) && !o.ReadOnly {
		q.bad, err = journal.Open(dir, &journal.Options{FS: o.FS, SegmentSize: o.SegmentSize, Now: o.Now, NoSync: true})
		if err != nil {
			j.Close()
			return nil, err
		}
	}
	if err := q.refresh(); err != nil {
		q.Close()
		return nil, q.wrap("open", err)
	}
	return q, nil
}

// Dir returns the queue's directory.
func (q *Queue) Dir() string { return q.dir }

func (q *Queue) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *journal.Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("queue %s %s: %w", op, q.dir, err)
}

func (q *Queue) check(op string, ctx context.Context) error {
	if q.closed.Load() {
		return q.wrap(op, durable.ErrClosed)
	}
	if q.o.ReadOnly {
		return q.wrap(op, errors.New("queue opened read-only"))
	}
	return q.wrap(op, ctx.Err())
}

func (q *Queue) now() int64 { return q.o.Now().UnixNano() }

// refresh catches up with what other processes committed. It asks the
// journal for its size first (a 4-byte read under the lock), outside q.mu:
// the journal may be running an update that needs q.mu.
func (q *Queue) refresh() error {
	size, _, err := q.j.Head(context.Background())
	if err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.catchUp(size)
}

// catchUp applies the committed records from st.seen up to size. Caller
// holds q.mu. A gap (records dropped by another process's compaction
// before this one read them) makes it rebuild the state from scratch.
func (q *Queue) catchUp(size uint64) error {
	if q.st.seen >= size && !q.st.fresh {
		return nil
	}
	for range 5 {
		gap := false
		for rec, err := range q.j.Scan(q.st.seen) {
			if err != nil {
				return err
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
				if err := q.st.apply(rec.Index, rec.Payload); err != nil {
					return fmt.Errorf("record %d: %w", rec.Index, err)
				}
			}
			q.st.fresh = false
			q.st.seen = rec.Index + 1
		}
		if gap {
			q.st = newState()
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
// and share one lock, one write and one flush (group commit). Pops form
// batches of their own, which need no flush: each flushed batch takes the
// pop batches waiting when it starts into its write and lets them go
// before its flush, and, right after the flush and still under the lock,
// writes the pop batches that arrived meanwhile. A pop batch whose turn
// comes runs alone, unless the last write was not flushed (the next write
// flushes, whatever it is told): it then takes a flushed batch that waits
// and runs with it as its early pops.
func (q *Queue) update(ctx context.Context, dur durability, decide func(now int64, emit func(event)) error) error {
	return q.updateN(ctx, dur, 0, decide)
}

func (q *Queue) updateN(ctx context.Context, dur durability, bytes int, decide func(now int64, emit func(event)) error) error {
	t := &txn{ctx: ctx, dur: dur, bytes: bytes, decide: decide}
	if err := q.g.Do(ctx, t, joinTxns, q.run); err != nil {
		return err
	}
	return t.err
}

// joinTxns keeps pops, flushed operations and (in mutation builds) broken
// ones in batches of their own, within maxBatch and maxBatchBytes.
func joinTxns(b []*txn, t *txn) bool {
	if len(b) >= maxBatch || b[0].dur != t.dur {
		return false
	}
	n := t.bytes
	for _, o := range b {
		n += o.bytes
	}
	return n <= maxBatchBytes
}

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
func (q *Queue) decideAll(size uint64, ts []*txn) ([][]byte, error) {
	if err := q.catchUp(size); err != nil {
		return nil, err
	}
	now := q.now()
	var recs [][]byte
	emit := func(e event) {
		b := e.encode()
		q.st.apply(q.st.seen, b)
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
// were not committed, so it is rebuilt from the files.
func (q *Queue) forget() {
	q.mu.Lock()
	q.st = newState()
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

// run runs one batch: flushed operations with the pop batches waiting, or
// pops alone (see update), or, in mutation builds, broken operations.
func (q *Queue) run(b *batch) error {
	if b.Items()[0].dur == broken {
		ctx, stop := b.Context()
		defer stop()
		_, err := q.bad.Update(ctx, func(size uint64) ([][]byte, error) {
			q.mu.Lock()
			defer q.mu.Unlock()
			return q.decideAll(size, claim(b))
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
	err := q.j.Transact(group.OwnCode(txCtx), func(tx *journal.Tx) error {
		if !stop() {
			return context.Cause(ctx) // ended before the lock was held: nothing written
		}
		ran = true
		if flushed == nil {
			if !tx.Unflushed() {
				// Pops alone: written, not flushed.
				return q.runPops(tx, claim(b))
			}
			// This write flushes anyway: let it be that of a flushed
			// batch that waits.
			f := b.StealAny(isFlushed)
			if f == nil {
				return q.runPops(tx, claim(b))
			}
			flushed = []*batch{f}
		}
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
		recs, err := q.decideAll(tx.Size(), append(claim(early...), claim(flushed...)...))
		q.mu.Unlock()
		if err != nil {
			release(err)
			return err
		}
		if _, err := tx.AppendThen(recs, true, func() { release(nil) }); err != nil {
			release(err)
			return err
		}
		release(nil)
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
	recs, err := q.decideAll(tx.Size(), pops)
	q.mu.Unlock()
	if err == nil {
		_, err = tx.Append(recs, false)
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

// Push appends a message and returns its ID once it is durable. Concurrent
// pushes share one write and one flush (group commit).
func (q *Queue) Push(ctx context.Context, payload []byte) (ID, error) {
	ids, err := q.PushBatch(ctx, [][]byte{payload})
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

// PushBatch appends messages, in order, with one write and one flush, and
// returns their IDs once all are durable. An error means none was
// acknowledged (some may still have been written and will be delivered).
func (q *Queue) PushBatch(ctx context.Context, payloads [][]byte) ([]ID, error) {
	if err := q.check("push", ctx); err != nil {
		return nil, err
	}
	if len(payloads) == 0 {
		return nil, nil
	}
	n := 0
	for i, p := range payloads {
		if len(p) > MaxPayload {
			return nil, q.wrap("push", fmt.Errorf("%w: message %d is %d bytes, the limit %d", ErrTooLarge, i, len(p), MaxPayload))
		}
		n += len(p)
	}
	// Pushes share the batch (one lock, one write, one flush) with every
	// other operation of this process that arrives meanwhile.
	ids := make([]ID, 0, len(payloads))
	err := q.updateN(ctx, mutated(mutate.QueuePushBeforeSync), n, func(_ int64, emit func(event)) error {
		ids = ids[:0]
		for _, p := range payloads {
			ids = append(ids, ID(q.st.seen))
			emit(event{Kind: kindPush, Payload: p})
		}
		return nil
	})
	if err != nil {
		return nil, q.wrap("push", err)
	}
	q.signal()
	return ids, nil
}

// Pop waits until a message is available, leases it for lease and returns
// it. The message is invisible to every other consumer until the lease
// ends; then, unless acknowledged, nacked or extended, it is delivered
// again (or becomes a dead letter when it has had MaxAttempts). The lease
// is written, and seen by every process, when Pop returns, but not flushed:
// a power cut may lose it, and the message is then delivered again with
// the same Attempt (doc.go, "Leases and power cuts"); the next flushed
// operation makes it durable. Messages are delivered oldest ID first, so
// the first deliveries of one producer's messages come in push order.
func (q *Queue) Pop(ctx context.Context, lease time.Duration) (Msg, error) {
	if lease <= 0 {
		return Msg{}, q.wrap("pop", errors.New("lease must be positive"))
	}
	for {
		if err := q.check("pop", ctx); err != nil {
			return Msg{}, err
		}
		// Taken before looking, so that a push meanwhile is not missed.
		wake := q.wakeChan()
		// One locked update both catches up and leases: looking first
		// (a refresh) would cost a second turn under the lock.
		msg, ok, next, err := q.tryPop(ctx, lease)
		if err != nil {
			return Msg{}, q.wrap("pop", err)
		}
		if ok {
			return msg, nil
		}
		d := q.o.PollInterval
		if next != 0 {
			d = min(d, time.Duration(next-q.now()))
		}
		t := time.NewTimer(max(d, time.Millisecond))
		select {
		case <-ctx.Done():
		case <-q.done:
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// TryPop is Pop that does not wait: ok is false when no message is
// available now.
func (q *Queue) TryPop(ctx context.Context, lease time.Duration) (msg Msg, ok bool, err error) {
	if lease <= 0 {
		return Msg{}, false, q.wrap("pop", errors.New("lease must be positive"))
	}
	if err := q.check("pop", ctx); err != nil {
		return Msg{}, false, err
	}
	msg, ok, _, err = q.tryPop(ctx, lease)
	return msg, ok, q.wrap("pop", err)
}

// maxDeadPerPop bounds the dead events one Pop writes for messages whose
// last lease expired.
const maxDeadPerPop = 256

// tryPop leases the available message with the smallest ID, if any; if
// none, next is when one may become available (0: none scheduled). The
// lease is written, not flushed (see doc.go, "Leases and power cuts"), and
// when the batch holds no other operation, nothing is written at all.
func (q *Queue) tryPop(ctx context.Context, lease time.Duration) (msg Msg, ok bool, next int64, err error) {
	err = q.update(ctx, unsynced, func(now int64, emit func(event)) error {
		for range maxDeadPerPop {
			id, m, at := q.st.peek(now)
			if m == nil {
				next = at
				return nil
			}
			if m.state == stateLeased && q.o.MaxAttempts > 0 && m.attempts >= uint64(q.o.MaxAttempts) {
				emit(event{Kind: kindDead, ID: id, Reason: reasonExpired})
				continue
			}
			until := now + int64(lease)
			msg = Msg{ID: id, Payload: append([]byte(nil), m.payload...), Attempt: int(m.attempts + 1), LeaseUntil: time.Unix(0, until)}
			ok = true
			emit(event{Kind: kindLease, ID: id, Time: until, Attempts: m.attempts + 1})
			// From here, not from Pop's return: waking the consumer is
			// part of how long its answer takes.
			q.gat.handed(id, time.Now())
			return nil
		}
		return nil
	})
	if err != nil || !ok {
		return Msg{}, false, next, err
	}
	return msg, true, 0, nil
}

// Ack removes a delivered message for good, durably: once Ack returns nil
// the message is never delivered again, by any process, after any crash.
// Exactly one Ack of a message succeeds; later ones get ErrNotFound. A
// consumer whose lease expired may still Ack (its work was done) until the
// message is delivered again: then its receipt is stale (ErrLeaseLost). A
// dead letter cannot be acknowledged (Retry or Purge it).
func (q *Queue) Ack(ctx context.Context, r Receipt) error {
	if err := q.check("ack", ctx); err != nil {
		return err
	}
	id := r.ID
	q.gat.answered(id, time.Now())
	err := q.update(ctx, mutated(mutate.QueueAckBeforeSync), func(_ int64, emit func(event)) error {
		m := q.st.msgs[id]
		switch {
		case m == nil:
			return ErrNotFound
		case m.state == stateDead:
			return ErrNotLeased
		case m.attempts != uint64(r.Attempt):
			return ErrLeaseLost
		}
		emit(event{Kind: kindAck, ID: id})
		return nil
	})
	if err != nil {
		return q.wrap("ack", err)
	}
	q.maybeCompact(ctx)
	return nil
}

// Nack returns a leased message to the queue, available again after delay,
// or makes it a dead letter when it has had MaxAttempts deliveries. A
// stale receipt (the message was delivered again) gets ErrLeaseLost.
func (q *Queue) Nack(ctx context.Context, r Receipt, delay time.Duration) error {
	if err := q.check("nack", ctx); err != nil {
		return err
	}
	id := r.ID
	q.gat.answered(id, time.Now())
	err := q.update(ctx, synced, func(now int64, emit func(event)) error {
		m := q.st.msgs[id]
		switch {
		case m == nil:
			return ErrNotFound
		case m.state != stateDead && m.attempts != uint64(r.Attempt):
			return ErrLeaseLost
		case m.state != stateLeased:
			return ErrNotLeased
		case q.o.MaxAttempts > 0 && m.attempts >= uint64(q.o.MaxAttempts):
			emit(event{Kind: kindDead, ID: id, Reason: reasonNacked})
			return nil
		}
		at := int64(0)
		if delay > 0 {
			at = now + int64(delay)
		}
		emit(event{Kind: kindNack, ID: id, Time: at})
		return nil
	})
	if err == nil {
		q.signal()
	}
	return q.wrap("nack", err)
}

// Extend makes a running lease end lease from now. It fails with
// ErrLeaseExpired once the lease is over, and with ErrLeaseLost once the
// message was delivered to someone else.
func (q *Queue) Extend(ctx context.Context, r Receipt, lease time.Duration) error {
	if err := q.check("extend", ctx); err != nil {
		return err
	}
	if lease <= 0 {
		return q.wrap("extend", errors.New("lease must be positive"))
	}
	id := r.ID
	q.gat.answered(id, time.Now())
	return q.wrap("extend", q.update(ctx, synced, func(now int64, emit func(event)) error {
		m := q.st.msgs[id]
		switch {
		case m == nil:
			return ErrNotFound
		case m.state != stateDead && m.attempts != uint64(r.Attempt):
			return ErrLeaseLost
		case m.state != stateLeased:
			return ErrNotLeased
		case m.at <= now:
			return ErrLeaseExpired
		}
		emit(event{Kind: kindExtend, ID: id, Time: now + int64(lease)})
		return nil
	}))
}

// Dead lists the dead letters, oldest first.
func (q *Queue) Dead() ([]DeadMsg, error) {
	if q.closed.Load() {
		return nil, q.wrap("dead", durable.ErrClosed)
	}
	if err := q.refresh(); err != nil {
		return nil, q.wrap("dead", err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	var ds []DeadMsg
	for _, id := range q.st.below(^uint64(0)) {
		if m := q.st.msgs[id]; m.state == stateDead {
			ds = append(ds, DeadMsg{ID: id, Payload: append([]byte(nil), m.payload...), Attempts: int(m.attempts)})
		}
	}
	return ds, nil
}

// Retry makes a dead letter ready again, with its attempts reset.
func (q *Queue) Retry(ctx context.Context, id ID) error {
	if err := q.check("retry", ctx); err != nil {
		return err
	}
	err := q.update(ctx, synced, func(_ int64, emit func(event)) error {
		m := q.st.msgs[id]
		switch {
		case m == nil:
			return ErrNotFound
		case m.state != stateDead:
			return ErrNotLeased
		}
		emit(event{Kind: kindRetry, ID: id})
		return nil
	})
	if err == nil {
		q.signal()
	}
	return q.wrap("retry", err)
}

// Purge removes dead letters for good: the ones named, or all of them
// when none is. It returns how many it removed. Nothing is removed when one
// of the named is not a dead letter.
func (q *Queue) Purge(ctx context.Context, ids ...ID) (int, error) {
	if err := q.check("purge", ctx); err != nil {
		return 0, err
	}
	n := 0
	err := q.update(ctx, synced, func(_ int64, emit func(event)) error {
		n = 0
		if len(ids) == 0 {
			for _, id := range q.st.below(^uint64(0)) {
				if q.st.msgs[id].state == stateDead {
					ids = append(ids, id)
				}
			}
		}
		for _, id := range ids {
			m := q.st.msgs[id]
			switch {
			case m == nil:
				return fmt.Errorf("%v: %w", id, ErrNotFound)
			case m.state != stateDead:
				return fmt.Errorf("%v: %w", id, ErrNotLeased)
			}
		}
		for _, id := range ids {
			emit(event{Kind: kindPurge, ID: id})
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, q.wrap("purge", err)
	}
	q.maybeCompact(ctx)
	return n, nil
}

// Stats counts the live messages, as the directory holds them now.
func (q *Queue) Stats() (Stats, error) {
	if q.closed.Load() {
		return Stats{}, q.wrap("stats", durable.ErrClosed)
	}
	if err := q.refresh(); err != nil {
		return Stats{}, q.wrap("stats", err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.st.counts(q.now()), nil
}

// maybeCompact reclaims space when enough records accumulated and few
// messages are live. Its errors are not the caller's: the Ack is durable
// either way, and the next compaction tries again.
func (q *Queue) maybeCompact(ctx context.Context) {
	q.mu.Lock()
	// Moves rewrite every live message: compact only when at least twice
	// as many records were written since the last compaction, so that the
	// rewriting costs at most half of what was written.
	n := q.st.seen - q.st.base
	live := uint64(len(q.st.msgs))
	due := n >= uint64(q.o.CompactRecords) && 2*live <= n &&
		q.st.seen-q.st.lastCp >= max(uint64(q.o.CompactRecords)/2, 2*live)
	q.mu.Unlock()
	if due {
		q.Compact(ctx)
	}
}

// Compact reclaims space: it rewrites the live messages that lie in old
// segments at the end of the journal (a "move" event that carries their
// payload and state; their ID stays), then drops every segment below. A
// drained queue returns to one segment. Ack calls it when due.
func (q *Queue) Compact(ctx context.Context) error {
	if err := q.check("compact", ctx); err != nil {
		return err
	}
	if !q.cmp.CompareAndSwap(false, true) {
		return nil
	}
	defer q.cmp.Store(false)
	var cut uint64
	err := q.update(ctx, synced, func(_ int64, emit func(event)) error {
		cut = q.st.seen
		for _, id := range q.st.below(cut) {
			m := q.st.msgs[id]
			emit(event{Kind: kindMove, ID: id, State: m.state, Time: m.at, Attempts: m.attempts, Payload: m.payload})
		}
		return nil
	})
	if err != nil {
		return q.wrap("compact", err)
	}
	first, err := q.j.DropBefore(ctx, cut)
	q.mu.Lock()
	q.st.lastCp = q.st.seen
	if err == nil && first > q.st.base {
		q.st.base = first
	}
	q.mu.Unlock()
	return q.wrap("compact", err)
}

// Close closes the queue; a waiting Pop returns an error wrapping
// durable.ErrClosed. Nothing is lost: every acknowledged operation was
// durable when it returned.
func (q *Queue) Close() error {
	if !q.closed.CompareAndSwap(false, true) {
		return q.wrap("close", durable.ErrClosed)
	}
	close(q.done)
	err := q.j.Close()
	if q.bad != nil {
		q.bad.Close()
	}
	return q.wrap("close", err)
}
