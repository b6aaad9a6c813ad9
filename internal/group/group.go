// Package group runs work in batches so that concurrent callers share one
// expensive step: one fsync of a directory, one replace of a file, one
// write and flush of a log. It is the one batching primitive of the module:
// durable's coalesced WriteFile and Update, the store's transactions, the
// journal's and jsonl's group commit and the queue's operations all use it.
//
// Its rules, which every user inherits:
//
//   - A caller that arrives while a batch is running joins the next batch,
//     never the running one: nobody is acknowledged by an fsync (or a
//     replace) that began before their request.
//   - Every waiter honours its own context, whoever leads its batch. A
//     caller whose context ends before its batch has claimed it (Claim)
//     leaves at once with the context's error, and nothing of its request
//     is done; a leader that leaves hands the batch to another member, so
//     its context fails nobody else. Batch.Context, for waits the whole
//     batch makes (a lock), ends only when every member's context has.
//   - A panic in a caller's callback, run through Batch.Call, is recovered
//     and raised again in that caller's own goroutine once its batch is
//     done; every other member gets its own outcome. A panic in the batch's
//     own code is raised in its leader's goroutine (or, if the leader has
//     left, in another member's), after every other member has been
//     answered with ErrPanicked. Either way the queue moves on: later
//     callers never hang behind a panic.
//   - The run may happen in a goroutine that is not the caller's: a leader
//     whose context can end runs a batch it shares with others in a
//     goroutine of its own, so that it can leave at its deadline while the
//     batch goes on. A run waits only through Batch.Context, so a caller
//     alone in its batch leaves at its deadline too.
//   - Re-entry is refused: a callback run through Batch.Call or Batch.User
//     that calls Do on the same Queue (an Update of a file inside an Update
//     of the same file) gets ErrReentrant at once instead of waiting for
//     itself forever.
package group

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/durable-go/durable/internal/errs"
	"github.com/durable-go/durable/internal/goid"
)

// ErrReentrant is returned by Do called from a callback of the batch that
// the same Queue is running.
var ErrReentrant = errs.ErrReentrant

// ErrPanicked is wrapped by the error of the members of a batch whose own
// code (not a member's callback) panicked.
var ErrPanicked = errors.New("durable: internal error: a batch panicked")

// Queue runs batches one after another. The zero value is ready.
type Queue[T any] struct {
	// Hold, if set, is called by the caller that leads a batch when the
	// batch's turn has come, with the items so far, while the batch still
	// takes items: whatever Do calls arrive before Hold returns join it
	// (when join lets them). Hold may so wait a little for items it knows
	// are on their way, to let them share the batch rather than start the
	// next one; the batch runs once Hold returns. With Hold set, every
	// batch, even a lone caller's, starts through it.
	Hold func(items []T)

	// Weight, if set, weighs an item, and an item joins a batch only if
	// the batch's weight with it stays within MaxWeight (a lone item
	// always has a batch of its own). The queue keeps each batch's sum, so
	// that a join need not add up a batch's items at every arrival: under
	// the queue's mutex, that grew with the batch.
	Weight    func(item T) int
	MaxWeight int

	// Joined, if set, is called by a caller that joined a batch whose
	// turn has not come, in its own goroutine, after joining and before
	// waiting. With Upcoming it lets the callers of the next batch
	// prepare its work while the running batch waits on a disk, so that
	// the next run finds it done (the journal frames and hashes its
	// records so). It must not call Do.
	Joined func()

	mu      sync.Mutex
	running bool
	pending []*Batch[T] // batches waiting for their turn, oldest first
	next    *Batch[T]   // the batch whose turn has come, while it still takes items (Hold)

	// waiters recycles the waiters of callers answered by their batch.
	waiters sync.Pool

	// user is the goroutine running a callback of the running batch, 0
	// when none does: a Do from that goroutine is re-entry. It holds a
	// goid.Token: a goroutine id (User), or a thread's (UserPinned).
	user atomic.Uint64
}

// Member states: a waiter is claimed by the run (its outcome is the
// batch's) or withdrawn by its context (its outcome is the context's
// error), whichever comes first.
const (
	waiting int32 = iota
	claimed
	withdrawn
)

type waiter[T any] struct {
	item   T
	ctx    context.Context
	weight int
	state  atomic.Int32
	err    error // the outcome, set before the batch's done is closed

	panicked bool
	panicVal any
}

// A Batch is what a run works on: the items of its members, in arrival
// order, and the means to answer each of them.
type Batch[T any] struct {
	q     *Queue[T]
	ws    []*waiter[T]
	items []T // parallel to ws

	// Guarded by q.mu until the batch starts. Without Hold, a batch stops
	// taking items when its turn comes, so that its leader starts it
	// without the mutex, which the callers who come back from the batch
	// before it all want at that moment. ws and items change only while
	// the batch is open; a member that leaves a closed batch stays in
	// them, withdrawn, and Claim skips it.
	open    bool          // still accepting items
	hasTurn bool          // its turn has come (turn is closed, or about to be: passTurn)
	weight  int           // the sum of its members' weights (Queue.Weight)
	leader  *waiter[T]    // the member that runs it when its turn comes
	turn    chan struct{} // closed when this batch may start
	handoff chan struct{} // closed, and replaced, when the leader changes
	done    chan struct{} // closed when every member has its outcome

	finished bool
	started  bool        // set and read by its leader's goroutine only
	stolen   []*Batch[T] // batches taken over, answered with this one at the latest
	parent   *Batch[T]   // for a stolen batch: the one that took it
	gid      uint64      // the goroutine running it, once known

	// The first member, in place: a lone caller's batch (the common case
	// with one writer) then costs one allocation.
	ws1    [1]*waiter[T]
	items1 [1]T
}

func newBatch[T any](q *Queue[T], w *waiter[T]) *Batch[T] {
	b := newLoneBatch(q, w)
	b.open = true
	b.turn, b.handoff, b.done = make(chan struct{}), make(chan struct{}), make(chan struct{})
	return b
}

// newLoneBatch returns the batch of a caller that found the queue idle and
// runs it at once: closed, never pending, so nobody joins, steals, waits
// for or withdraws from it, and it needs none of the channels (finishOwn
// closes done only if there is one).
func newLoneBatch[T any](q *Queue[T], w *waiter[T]) *Batch[T] {
	b := &Batch[T]{q: q, leader: w, weight: w.weight}
	b.ws1[0], b.items1[0] = w, w.item
	b.ws, b.items = b.ws1[:], b.items1[:]
	return b
}

// newWaiter returns a waiter for item, from the pool.
func (q *Queue[T]) newWaiter(ctx context.Context, item T) *waiter[T] {
	w, _ := q.waiters.Get().(*waiter[T])
	if w == nil {
		w = new(waiter[T])
	}
	w.item, w.ctx = item, ctx
	if q.Weight != nil {
		w.weight = q.Weight(item)
	}
	return w
}

// recycle returns w to the pool. Only the waiter of a caller its batch
// answered may be recycled: its batch is done with it. One that withdrew
// may still be looked at by a run (Claim), and is left to the collector.
func (q *Queue[T]) recycle(w *waiter[T]) {
	*w = waiter[T]{}
	q.waiters.Put(w)
}

// Do adds item to a batch and waits until that batch has run, returning
// the error run returned for it (or ctx's error if ctx ended before the
// batch claimed item). join reports whether item may share a batch that
// already holds items; when it says no, item starts a batch of its own
// behind the others. run is called by exactly one of the batch's callers,
// never concurrently with another batch of the same Queue.
//
// If a callback of item's caller that the run made through Batch.Call
// panicked, Do panics with the same value, in this goroutine.
func (q *Queue[T]) Do(ctx context.Context, item T, join func(batch []T, item T) bool, run func(b *Batch[T]) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if g := q.user.Load(); g != 0 && goid.Is(goid.Token(g)) {
		// This goroutine runs a callback of the running batch: waiting
		// would be waiting for itself. (The test is exact: while this
		// goroutine runs the callback, user cannot change.)
		return ErrReentrant
	}
	w := q.newWaiter(ctx, item)
	q.mu.Lock()
	if !q.running && q.Hold == nil {
		q.running = true
		q.mu.Unlock()
		return q.lead(newLoneBatch(q, w), w, run)
	}
	last := q.next
	if n := len(q.pending); n > 0 {
		last = q.pending[n-1]
	}
	var b *Batch[T]
	if last != nil && last.open && (q.Weight == nil || last.weight+w.weight <= q.MaxWeight) &&
		(join == nil || join(last.items, item)) {
		b = last
		b.ws = append(b.ws, w)
		b.items = append(b.items, item)
		b.weight += w.weight
	} else {
		b = newBatch(q, w)
		if q.running {
			q.pending = append(q.pending, b)
		} else {
			q.running, q.next = true, b
			b.hasTurn = true
			close(b.turn)
		}
	}
	leads, wake := b.leader == w, b.handoff
	if leads {
		wake = b.turn
	}
	// A member whose leader cannot leave, and who cannot leave either,
	// only waits for the outcome: a plain receive, where a select would
	// lock both channels when the batch's end wakes it, and the hundreds
	// woken together queue on those locks while the next batch's leader
	// waits for the processor.
	plain := !leads && b.leader.ctx.Done() == nil && ctx.Done() == nil
	joined := q.Joined != nil && !b.hasTurn
	q.mu.Unlock()
	if joined {
		q.Joined()
	}
	if plain {
		<-b.done
		return q.answered(w, w.outcome())
	}
	return q.wait(ctx, b, w, leads, wake, run)
}

// answered recycles w, whose batch answered it with err, and returns err.
// (A panic raised in the caller's goroutine leaves w to the collector.)
func (q *Queue[T]) answered(w *waiter[T], err error) error {
	q.recycle(w)
	return err
}

// wait waits for w's outcome, leading b if its turn comes while w leads
// (leads, and then wake is b.turn; else wake is the handoff channel of
// when w last looked). Only w itself can give up its lead, so a leader
// woken by the turn starts without asking the mutex who leads.
func (q *Queue[T]) wait(ctx context.Context, b *Batch[T], w *waiter[T], leads bool, wake <-chan struct{}, run func(*Batch[T]) error) error {
	for {
		select {
		case <-b.done:
			return q.answered(w, w.outcome())
		case <-wake:
			if leads {
				return q.start(b, w, run)
			}
			q.mu.Lock()
			leads, wake = b.leader == w, b.handoff
			if leads {
				wake = b.turn
			}
			q.mu.Unlock()
		case <-ctx.Done():
			if q.withdraw(b, w) {
				return ctx.Err()
			}
			<-b.done // claimed: its outcome is on its way
			return q.answered(w, w.outcome())
		}
	}
}

// withdraw takes w out of b, unless the run has claimed it already.
func (q *Queue[T]) withdraw(b *Batch[T], w *waiter[T]) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !w.state.CompareAndSwap(waiting, withdrawn) {
		return false
	}
	if !b.open {
		// Closed: w stays among its members, and Claim skips it. Only a
		// leader that leaves a batch whose turn has come, before
		// starting it, has more to do. (b.started is read only when w
		// leads: only w's goroutine writes it then.)
		if b.leader != w || !b.hasTurn || b.started {
			return true
		}
		for _, m := range b.ws {
			if m != w && m.state.Load() == waiting {
				b.leader = m
				close(b.handoff)
				b.handoff = make(chan struct{})
				return true
			}
		}
		b.leader = nil
		b.finished = true
		close(b.done)
		q.handOverLocked()
		return true
	}
	i := 0
	for b.ws[i] != w {
		i++
	}
	b.ws = append(b.ws[:i], b.ws[i+1:]...)
	b.items = append(b.items[:i:i], b.items[i+1:]...)
	b.weight -= w.weight
	if b.leader != w {
		return true
	}
	if len(b.ws) > 0 {
		// Another member leads: it runs the batch when its turn comes
		// (or now, if it has come).
		b.leader = b.ws[0]
		close(b.handoff)
		b.handoff = make(chan struct{})
		return true
	}
	// Nobody is left: the batch is dropped.
	b.open, b.leader = false, nil
	b.finished = true
	close(b.done)
	if q.next == b {
		q.next = nil
		q.handOverLocked()
		return true
	}
	for k, p := range q.pending {
		if p == b {
			q.pending = append(q.pending[:k], q.pending[k+1:]...)
			break
		}
	}
	return true
}

// start runs b, whose turn has come and which w leads.
func (q *Queue[T]) start(b *Batch[T], w *waiter[T], run func(*Batch[T]) error) error {
	b.started = true
	if q.Hold != nil {
		// The batch took items until now, and takes more while Hold
		// waits.
		q.mu.Lock()
		items := b.items
		q.mu.Unlock()
		q.Hold(items)
		q.mu.Lock()
		b.open = false
		q.next = nil
		q.mu.Unlock()
	}
	return q.lead(b, w, run)
}

// lead runs b and returns w's outcome. A leader whose context can end and
// who has others in its batch runs b in a goroutine of its own, so that it
// can leave at its deadline like any other member while the batch goes on
// for the others. Otherwise it runs b in its own goroutine: alone in its
// batch, the run's waits (Context) end with its context anyway. (b has
// started: nobody joins it any more.)
func (q *Queue[T]) lead(b *Batch[T], w *waiter[T], run func(*Batch[T]) error) error {
	b.started = true
	if w.ctx.Done() != nil && len(b.ws) > 1 {
		go q.runDetached(b, w, run)
		select {
		case <-b.done:
		case <-w.ctx.Done():
			if q.withdraw(b, w) {
				return w.ctx.Err()
			}
			<-b.done
		}
		return q.answered(w, w.outcome())
	}
	ok := false
	defer func() {
		if !ok {
			// run panicked or called runtime.Goexit: answer everyone and
			// move on, then let the panic continue (keeping its stack).
			b.finish(ErrPanicked)
			q.handOver()
		}
	}()
	err := run(b)
	ok = true
	q.finishHandOver(b, err)
	return q.answered(w, w.outcome())
}

// runDetached runs b for its leader w, which waits in another goroutine.
// A panic of run's own is raised again in w's goroutine, or in another
// member's if w has left; everyone else gets ErrPanicked.
func (q *Queue[T]) runDetached(b *Batch[T], w *waiter[T], run func(*Batch[T]) error) {
	ok := false
	defer func() {
		if ok {
			return
		}
		p := recover()
		// runtime.Goexit: nothing to raise. A batch answered already
		// (Finish) has nobody left to take it: its waiters may be
		// recycled.
		given := p == nil
		for _, m := range append([]*waiter[T]{w}, b.ws...) {
			if given || b.finished {
				break
			}
			if m.state.CompareAndSwap(waiting, claimed) || m.state.Load() == claimed {
				if !m.panicked {
					m.panicked, m.panicVal, given = true, p, true
				}
			}
		}
		b.finish(ErrPanicked)
		q.handOver()
		if !given {
			panic(p) // nobody is left to take it
		}
	}()
	err := run(b)
	ok = true
	q.finishHandOver(b, err)
}

// finish answers every member that has no outcome yet with err, and the
// batches b took over that have not been answered.
func (b *Batch[T]) finish(err error) {
	for _, s := range b.stolen {
		s.finishOwn(err)
	}
	b.finishOwn(err)
}

func (b *Batch[T]) finishOwn(err error) {
	if b.finished {
		return
	}
	b.finished = true
	for _, w := range b.ws {
		if w.err == nil && !w.panicked {
			w.err = err
		}
	}
	if b.done != nil { // nil for a lone batch (newLoneBatch): nobody waits on it
		close(b.done)
	}
}

// finishHandOver answers b's members with err and hands the queue to the
// oldest waiting batch, in an order that matters on a busy processor: the
// next batch is closed first, so that b's members, once woken, join the
// batch after it (and prepare it, Joined, while it runs); then they are
// woken; its leader last. Each goroutine a channel's close makes runnable
// is put first in the processor's queue, pushing the one before it back:
// woken first, the leader waited behind b's hundreds of members for the
// processor (at 256 writers that wait was most of the journal's time
// between two flushes, and the leader woken last measured 1.2 to 1.7
// times the appends per second under load).
func (q *Queue[T]) finishHandOver(b *Batch[T], err error) {
	next := q.passTurn()
	b.finish(err)
	if next != nil {
		close(next.turn)
	}
}

// passTurn is handOver that leaves the closing of the next batch's turn
// to its caller (finishHandOver): it returns that batch, closed and with
// its turn come (hasTurn), or nil when it handed the queue on itself (with
// Hold, whose batch keeps taking items, or with no batch waiting). Until
// the turn is closed, a leader that leaves the batch hands it to another
// member or drops it (withdraw), as it would once the turn is closed.
func (q *Queue[T]) passTurn() *Batch[T] {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 || q.Hold != nil {
		q.handOverLocked()
		return nil
	}
	b := q.pending[0]
	q.pending[0] = nil
	q.pending = q.pending[1:]
	b.hasTurn = true
	b.open = false // its leader starts it without the mutex
	return b
}

// handOver hands the queue to the oldest waiting batch, or marks it idle.
func (q *Queue[T]) handOver() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handOverLocked()
}

func (q *Queue[T]) handOverLocked() {
	if len(q.pending) == 0 {
		q.running = false
		return
	}
	b := q.pending[0]
	q.pending[0] = nil
	q.pending = q.pending[1:]
	b.hasTurn = true
	if q.Hold == nil {
		b.open = false // its leader starts it without the mutex
	} else {
		q.next = b
	}
	close(b.turn)
}

// Upcoming appends to dst the items of the batch whose turn comes next,
// from its from'th on, and returns dst and that batch, which serves only
// to tell one batch from another: nil when no batch waits, or the one
// that does no longer takes items. The items before from may have
// changed since an earlier call (a member whose context ended leaves an
// open batch); a caller that relies on them looks only at items whose
// callers cannot leave.
func (q *Queue[T]) Upcoming(dst []T, from int) ([]T, *Batch[T]) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 || !q.pending[0].open {
		return dst, nil
	}
	b := q.pending[0]
	if from < len(b.items) {
		dst = append(dst, b.items[from:]...)
	}
	return dst, b
}

// Idle reports whether no batch is running or waiting.
func (q *Queue[T]) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.running && len(q.pending) == 0
}

// Waiting returns how many callers wait in batches whose turn has not
// come.
func (q *Queue[T]) Waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, b := range q.pending {
		n += len(b.ws)
	}
	return n
}

func (w *waiter[T]) outcome() error {
	if w.panicked {
		panic(w.panicVal)
	}
	return w.err
}

// Items returns the batch's items in arrival order (those of the batches
// it took over, Steal, are not included). Members whose context ended may
// be among them: see Claim.
func (b *Batch[T]) Items() []T { return b.items }

// Len returns how many items the batch has.
func (b *Batch[T]) Len() int { return len(b.items) }

// Claim commits the run to item i: its caller no longer leaves when its
// context ends, and waits for the outcome the run gives it. It returns
// false, and the run must then leave the item alone, when the caller has
// already left, or its context has ended (it is then answered with its
// context's error). A run whose callers' contexts can end claims each item
// before acting on it.
func (b *Batch[T]) Claim(i int) bool {
	w := b.ws[i]
	if err := w.ctx.Err(); err != nil {
		if w.state.CompareAndSwap(waiting, withdrawn) {
			w.err = err
			return false
		}
	}
	if w.state.CompareAndSwap(waiting, claimed) {
		return true
	}
	return w.state.Load() == claimed
}

// Fail answers item i with err, which its caller gets whatever the run
// returns. It does not end the wait: the caller returns with the batch.
func (b *Batch[T]) Fail(i int, err error) {
	if b.ws[i].err == nil {
		b.ws[i].err = err
	}
}

// Call runs fn, a callback supplied by item i's caller, in the run's
// goroutine. A panic in fn is recovered, Call returns false, and the
// panic is raised again in the caller's own goroutine once the batch is
// done; the run goes on with the other items. While fn runs, a Do on this
// Queue from fn's goroutine fails with ErrReentrant.
func (b *Batch[T]) Call(i int, fn func()) (ok bool) {
	w := b.ws[i]
	defer func() {
		if !ok {
			if p := recover(); p != nil {
				w.panicked, w.panicVal = true, p
			}
		}
	}()
	b.User(fn)
	return true
}

// User runs fn, which calls back into code the batch's callers supplied,
// with re-entry detected as in Call; a panic in fn is not recovered.
func (b *Batch[T]) User(fn func()) {
	top := b
	for top.parent != nil {
		top = top.parent
	}
	if top.gid == 0 {
		top.gid = goid.ID()
	}
	q := b.q
	prev := q.user.Swap(top.gid)
	defer q.user.Store(prev)
	fn()
}

// UserPinned is User for a run that needs no goroutine id otherwise (no
// Goroutine, no lock that records its holder): it names the running
// goroutine with a goid.Token from goid.Pin, one system call where User's
// id walks the stack (7 µs and more, a large part of a store update in
// log mode), and passes it to fn for re-entry tests of its own (goid.Is).
func (b *Batch[T]) UserPinned(fn func(goid.Token)) {
	t := goid.Pin()
	defer goid.Unpin(t)
	q := b.q
	prev := q.user.Swap(uint64(t))
	defer q.user.Store(prev)
	fn(t)
}

// Context returns a context for waits the whole batch makes, such as for
// a lock: it is done once every member's context is, so that one caller's
// cancelled or expired context fails nobody else.
func (b *Batch[T]) Context() (context.Context, context.CancelFunc) {
	if len(b.ws) == 1 {
		return b.ws[0].ctx, noStop
	}
	for _, w := range b.ws {
		if w.ctx.Done() == nil {
			// A member that waits forever keeps the batch's waits going
			// forever too: nothing to watch (an AfterFunc per member
			// showed in the journal's CPU per append at 256 writers).
			return context.WithoutCancel(b.ws[0].ctx), noStop
		}
	}
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(b.ws[0].ctx))
	var left atomic.Int32
	left.Store(int32(len(b.ws)))
	stops := make([]func() bool, len(b.ws))
	for i, w := range b.ws {
		wctx := w.ctx // not w: waiters are recycled once answered
		stops[i] = context.AfterFunc(wctx, func() {
			if left.Add(-1) == 0 {
				cancel(context.Cause(wctx))
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel(nil)
	}
}

// noStop is Context's stop when there is nothing to stop: a func literal
// in a generic method allocates (it captures the type's dictionary).
func noStop() {}

// Steal takes over the oldest waiting batch if ok accepts its items, and
// returns it (nil if there is none or ok refuses). Its members are then
// the run's to answer: through the returned Batch (Claim, Fail, Call,
// Finish), and at the latest when this batch is done, with its error. It
// keeps batches large when callers come back as soon as they are answered:
// the changes of a batch taken over before this one writes are written
// with it.
func (b *Batch[T]) Steal(ok func(items []T) bool) *Batch[T] {
	return b.steal(ok, false)
}

// StealAny is Steal that looks at every waiting batch, oldest first, and
// takes the first that ok accepts, jumping the batches before it. It is
// for work that needs no order with the others (the queue's pops).
func (b *Batch[T]) StealAny(ok func(items []T) bool) *Batch[T] {
	return b.steal(ok, true)
}

func (b *Batch[T]) steal(ok func([]T) bool, anywhere bool) *Batch[T] {
	q := b.q
	q.mu.Lock()
	defer q.mu.Unlock()
	for k, s := range q.pending {
		if !anywhere && k > 0 {
			break
		}
		if !s.open || !ok(s.items) {
			continue
		}
		q.pending = append(q.pending[:k], q.pending[k+1:]...)
		s.open = false
		s.parent = b
		b.stolen = append(b.stolen, s)
		return s
	}
	return nil
}

// Finish answers b's members now, with err for those that have no
// outcome of their own, before the run ends: a batch taken over with
// Steal, or the run's own batch, whose callers may go once their records
// are written. The batches b took over are not answered by it.
func (b *Batch[T]) Finish(err error) { b.finishOwn(err) }

type ownCodeKey struct{}

// OwnCode marks ctx as that of a call whose callbacks are this module's own
// code, which never re-enters: Journal.WithLock from package queue,
// Updater.Update from package store. Their runs skip the re-entry guard
// (Batch.User), whose goroutine id costs a stack header per batch. Users
// cannot set it: the key is internal.
func OwnCode(ctx context.Context) context.Context {
	return context.WithValue(ctx, ownCodeKey{}, true)
}

// IsOwnCode reports whether ctx was marked by OwnCode.
func IsOwnCode(ctx context.Context) bool {
	v, _ := ctx.Value(ownCodeKey{}).(bool)
	return v
}
