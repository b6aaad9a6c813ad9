package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
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
	// OnRecover, if not nil, is told when the state snapshot (see
	// SnapshotName) was damaged or does not match the journal: the state
	// was rebuilt from the journal, which is the truth, so nothing is
	// lost; the error wraps durable.ErrCorrupt and names the file. It is
	// called from the goroutine of the operation that found it, with no
	// lock held. nil: such recoveries go unreported (the damaged file is
	// still kept as evidence, SnapshotName+".corrupt").
	OnRecover func(error)
}

// Queue is a persistent work queue in a directory. Its methods are safe
// for concurrent use, and any number of processes may open the same
// directory at once.
type Queue struct {
	dir string
	o   Options
	j   *journal.Journal
	bad *journal.Journal // mutation builds only: a journal that skips fsync

	mu       sync.Mutex // guards st, cache, snapSeen, snapNow, peers and reports
	st       *state
	cache    payloadCache
	snapSeen uint64  // seen of the last snapshot this process loaded, wrote or learnt of
	snapNow  bool    // the snapshot was not trusted: replace it
	peers    bool    // another handle wrote a snapshot this one learnt of (peerSnapshot)
	skew     uint64  // records this handle waits past a due snapshot once it has peers (snapDue)
	reports  []error // for Options.OnRecover
	snapping atomic.Bool

	wmu    sync.Mutex
	wake   chan struct{} // closed and replaced when a local change may make a message available
	done   chan struct{}
	closed atomic.Bool
	cmp    atomic.Bool       // a compaction runs
	g      group.Queue[*txn] // operations, in batches (see update)
	gat    gather            // holds flushed batches open for due acks
	chased atomic.Int64      // second batches chase wrote (for tests)
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
	j, err := journal.Open(dir, &journal.Options{FS: o.FS, SegmentSize: o.SegmentSize, Now: o.Now, Origin: Origin, ReadOnly: o.ReadOnly})
	if err != nil {
		return nil, err
	}
	q := &Queue{dir: dir, o: o, j: j, st: newState(), wake: make(chan struct{}), done: make(chan struct{})}
	q.skew = skewFor(os.Getpid(), o.CompactRecords)
	q.g.Hold = q.hold
	q.g.Weight, q.g.MaxWeight = txnBytes, maxBatchBytes
	if (mutate.QueueAckBeforeSync || mutate.QueuePushBeforeSync) && !o.ReadOnly {
		q.bad, err = journal.Open(dir, &journal.Options{FS: o.FS, SegmentSize: o.SegmentSize, Now: o.Now, Durability: durable.Cache})
		if err != nil {
			j.Close()
			return nil, err
		}
	}
	q.mu.Lock()
	q.reload()
	q.mu.Unlock()
	err = q.refresh()
	q.report()
	if err != nil {
		q.Close()
		return nil, q.wrap("open", err)
	}
	// A long replay (no snapshot yet, or a stale one): spare the next
	// Open from it.
	q.maybeSnapshot(context.Background())
	return q, nil
}

// skewFor is the skew (snapDue) of the handles of process pid: spread
// over [0, compactRecords/2] across processes (a multiplicative hash of
// the pid), and the same for every handle of one process, so that a run
// does the same calls whenever it is repeated (the fault tests count
// them, then fail each in turn).
func skewFor(pid, compactRecords int) uint64 {
	h := uint64(pid) * 0x9e3779b97f4a7c15
	return (h >> 32) % (uint64(compactRecords)/2 + 1)
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
	q.maybeSnapshot(ctx)
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
			if m.state() == stateLeased && q.o.MaxAttempts > 0 && m.attempts() >= uint64(q.o.MaxAttempts) {
				emit(event{Kind: kindDead, ID: id, Reason: reasonExpired})
				continue
			}
			p, err := q.payload(m)
			if err != nil {
				return err
			}
			until := now + int64(lease)
			attempts := m.attempts() + 1
			msg = Msg{ID: id, Payload: append([]byte(nil), p...), Attempt: int(attempts), LeaseUntil: time.Unix(0, until)}
			ok = true
			emit(event{Kind: kindLease, ID: id, Time: until, Attempts: attempts})
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
		m := q.st.get(id)
		switch {
		case m == nil:
			return ErrNotFound
		case m.state() == stateDead:
			return ErrNotLeased
		case m.attempts() != uint64(r.Attempt):
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
	err := q.updateLease(ctx, r, func(now int64, m *slot, emit func(event)) error {
		if q.o.MaxAttempts > 0 && m.attempts() >= uint64(q.o.MaxAttempts) {
			emit(event{Kind: kindDead, ID: r.ID, Reason: reasonNacked})
			return nil
		}
		at := int64(0)
		if delay > 0 {
			at = now + int64(delay)
		}
		emit(event{Kind: kindNack, ID: r.ID, Time: at})
		return nil
	})
	if err == nil {
		q.signal()
		q.maybeSnapshot(ctx)
	}
	return q.wrap("nack", err)
}

// updateLease is a synced update, for Nack and Extend, of the message
// whose lease r is: fn runs under the lock only while r still holds that
// lease, and the update fails when the message is gone (ErrNotFound), was
// delivered again (ErrLeaseLost) or is not leased (ErrNotLeased).
func (q *Queue) updateLease(ctx context.Context, r Receipt, fn func(now int64, m *slot, emit func(event)) error) error {
	q.gat.answered(r.ID, time.Now())
	return q.update(ctx, synced, func(now int64, emit func(event)) error {
		m := q.st.get(r.ID)
		switch {
		case m == nil:
			return ErrNotFound
		case m.state() != stateDead && m.attempts() != uint64(r.Attempt):
			return ErrLeaseLost
		case m.state() != stateLeased:
			return ErrNotLeased
		}
		return fn(now, m, emit)
	})
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
	err := q.updateLease(ctx, r, func(now int64, m *slot, emit func(event)) error {
		if m.at <= now {
			return ErrLeaseExpired
		}
		emit(event{Kind: kindExtend, ID: r.ID, Time: now + int64(lease)})
		return nil
	})
	if err == nil {
		q.maybeSnapshot(ctx)
	}
	return q.wrap("extend", err)
}

// Dead lists the dead letters, oldest first.
func (q *Queue) Dead() ([]DeadMsg, error) {
	if q.closed.Load() {
		return nil, q.wrap("dead", durable.ErrClosed)
	}
	// The payloads are read without the journal's lock: a compaction in
	// another process may move them meanwhile, and catching up again
	// finds where.
	var err error
	for range 3 {
		if err = q.refresh(); err != nil {
			break
		}
		var ds []DeadMsg
		if ds, err = q.dead(); err == nil {
			return ds, nil
		}
	}
	return nil, q.wrap("dead", err)
}

func (q *Queue) dead() ([]DeadMsg, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	// One pass over the journal, in the order of the payloads, then in
	// the order of the IDs.
	var ms []slot
	for _, id := range q.st.dead() {
		ms = append(ms, *q.st.get(id))
	}
	slices.SortFunc(ms, func(a, b slot) int { return cmp.Compare(a.loc, b.loc) })
	ds := make([]DeadMsg, 0, len(ms))
	err := q.eachPayload(ms, func(m slot, p []byte) bool {
		ds = append(ds, DeadMsg{ID: m.id, Payload: append([]byte(nil), p...), Attempts: int(m.attempts())})
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ds, func(a, b DeadMsg) int { return cmp.Compare(a.ID, b.ID) })
	return ds, nil
}

// Retry makes a dead letter ready again, with its attempts reset.
func (q *Queue) Retry(ctx context.Context, id ID) error {
	if err := q.check("retry", ctx); err != nil {
		return err
	}
	err := q.update(ctx, synced, func(_ int64, emit func(event)) error {
		m := q.st.get(id)
		switch {
		case m == nil:
			return ErrNotFound
		case m.state() != stateDead:
			return ErrNotLeased
		}
		emit(event{Kind: kindRetry, ID: id})
		return nil
	})
	if err == nil {
		q.signal()
		q.maybeSnapshot(ctx)
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
			ids = q.st.dead()
		}
		for _, id := range ids {
			m := q.st.get(id)
			switch {
			case m == nil:
				return fmt.Errorf("%v: %w", id, ErrNotFound)
			case m.state() != stateDead:
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
