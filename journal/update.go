package journal

import (
	"context"
	"errors"
	"iter"
)

// Update is a read-then-append transaction across goroutines and
// processes. It takes the directory's lock, catches up with what other
// processes appended (recovering a torn tail as Open does), and calls fn
// with the journal's size: every record below size is committed and can be
// read with Scan while fn runs, and no record can be appended by anyone
// until Update returns. The records fn returns are then appended as one
// batch, under the same lock, and Update returns the index of the first
// once they are durable (or size, when fn returns none). An error from fn
// is returned, wrapped, and nothing is appended.
//
// Update does not share its write with concurrent appends (it runs alone);
// use Append for records that need no decision.
func (j *Journal) Update(ctx context.Context, fn func(size uint64) ([][]byte, error)) (uint64, error) {
	var first uint64
	err := j.WithLock(ctx, func(tx *Tx) error {
		payloads, err := fn(tx.Size())
		if err != nil {
			return err
		}
		first, err = tx.AppendFlushed(payloads)
		return err
	})
	return first, err
}

// WithLock runs fn with the directory's lock held and the journal caught
// up with what other processes appended, as Update does; fn may append
// several batches with tx, flushed or not, each decided against what it
// has read and appended before. Each batch is committed when its Append
// returns: what fn appended stays appended when fn then returns an error
// (that error is returned, wrapped), so WithLock is no transaction that
// rolls back. tx must not be used after fn returns.
//
// WithLock runs alone, like Update: no other append of this journal, from
// any goroutine or process, happens while fn runs. A panic in fn is raised
// again in the caller's goroutine and leaves the journal usable; an
// append, Update or WithLock of the journal from inside fn fails with
// durable.ErrReentrant.
func (j *Journal) WithLock(ctx context.Context, fn func(tx *Tx) error) error {
	return j.do(ctx, "update", func() error {
		tx := &Tx{j: j, ctx: ctx}
		defer func() { tx.j = nil }()
		return fn(tx)
	})
}

// Transact is WithLock.
//
// Deprecated: Use WithLock. What fn appended stays appended when it fails,
// which the name of a rolling-back transaction (bbolt's Update) hides.
func (j *Journal) Transact(ctx context.Context, fn func(tx *Tx) error) error {
	return j.WithLock(ctx, fn)
}

// Tx appends to the journal while WithLock holds its lock. Each of its
// appends is one batch of consecutive records, committed when it returns;
// nothing is undone when the function given to WithLock fails.
//
// A batch is flushed (AppendFlushed) or only written (AppendUnflushed). A
// written batch is seen by every process that takes the lock and survives
// a crash of this one, but a power cut may take it back until a later
// flush of the segment, by any process, makes it durable: a flush covers
// every byte written to the file before it. The log stays a prefix of what
// was appended: the batch after an unflushed one is always flushed, and
// marked so that recovery cuts both if a power cut tears the earlier one
// during that flush (FORMAT.md, "Recovery").
type Tx struct {
	j   *Journal
	ctx context.Context
	// share: WithLockShared's, when others appended since this process's
	// last batch: the first AppendFlushed leaves its flush for after the
	// lock. deferred: a batch so written has not been flushed since.
	share, deferred bool
}

// Size returns the number of records: the index the next one will get.
func (tx *Tx) Size() uint64 { return tx.j.next }

// Scan is Journal.Scan of the records from index from up to Size, for a
// writer that catches up at every turn of the lock with what other
// processes appended (package store's log mode): when from lies in the
// segment the journal writes to, it reads through that open file rather
// than opening the segment again. It must not be used after fn returns,
// nor while appending with tx.
func (tx *Tx) Scan(from uint64) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		j := tx.j
		if j == nil {
			yield(Record{}, errors.New("journal: Tx used after its WithLock returned"))
			return
		}
		size := j.next
		if from >= size {
			return
		}
		r := &reader{j: j, own: j.seg}
		r.run(context.Background(), from, false, func(rec Record, err error) bool {
			if err == nil && rec.Index >= size {
				return false
			}
			return yield(rec, err)
		})
	}
}

// Unflushed reports whether the last batch was appended without a flush
// that has not happened since: the next append then flushes, whichever
// method makes it.
func (tx *Tx) Unflushed() bool { return tx.j.unflushed && tx.j.o.flushes() }

// AppendFlushed appends payloads as one batch and returns the index of the
// first (Size, when there are none) once they are durable. With
// Options.Durability set to durable.Cache it only writes them, as every
// append of that journal does.
func (tx *Tx) AppendFlushed(payloads [][]byte) (uint64, error) {
	return tx.append(payloads, true, nil)
}

// AppendUnflushed appends payloads as one batch and returns the index of
// the first (Size, when there are none) once they are written, without
// waiting for a flush: see Tx for what survives what. It is for records
// whose loss in a power cut costs only a repetition, such as a claim on
// work that only live processes care about. If the previous batch was
// unflushed too, this one is flushed, and covers both.
func (tx *Tx) AppendUnflushed(payloads [][]byte) (uint64, error) {
	return tx.append(payloads, false, nil)
}

// AppendFlushedThen is AppendFlushed that calls written, if not nil, once
// the records are written and before they are flushed: at that point
// every process that takes the lock sees them and they survive a crash of
// this one. It lets work that needs the records written, not durable,
// start while the flush runs. If the flush then fails, the records are
// wiped as on any failed append, and AppendFlushedThen returns the error:
// what written started on was never durable, as after a power cut.
func (tx *Tx) AppendFlushedThen(payloads [][]byte, written func()) (uint64, error) {
	return tx.append(payloads, true, written)
}

// Append is AppendFlushed when flush is true, else AppendUnflushed.
//
// Deprecated: Use AppendFlushed or AppendUnflushed, which say at the call
// site what a bare bool does not.
func (tx *Tx) Append(payloads [][]byte, flush bool) (uint64, error) {
	return tx.append(payloads, flush, nil)
}

// AppendThen is AppendFlushedThen when flush is true; without it,
// written is called once the records are written, as AppendUnflushed
// returns.
//
// Deprecated: Use AppendFlushedThen, or AppendUnflushed and then the
// work written would do.
func (tx *Tx) AppendThen(payloads [][]byte, flush bool, written func()) (uint64, error) {
	return tx.append(payloads, flush, written)
}

func (tx *Tx) append(payloads [][]byte, flush bool, written func()) (uint64, error) {
	r, first, err := tx.request(payloads)
	if r == nil {
		return first, err
	}
	j := tx.j
	later := flush && tx.share && j.shares()
	if err := j.commit([]*request{r}, flush && j.o.flushes() && !later, written); err != nil {
		return 0, err
	}
	// A flush since (this batch's, the seal of a rotation) covered a
	// deferred batch.
	tx.deferred = later || tx.deferred && j.unflushed
	if r.first != first {
		return 0, errors.New("update: records not appended where expected")
	}
	return first, nil
}

// request checks payloads as an append of tx and returns the request that
// appends them, to be the records from first on; r is nil when there is
// nothing to append (no payloads: first is where they would go) or err
// says why they cannot be.
func (tx *Tx) request(payloads [][]byte) (r *request, first uint64, err error) {
	j := tx.j
	if j == nil {
		return nil, 0, errors.New("journal: Tx used after its WithLock returned")
	}
	first = j.next
	if len(payloads) == 0 {
		return nil, first, nil
	}
	for i, p := range payloads {
		if err := j.checkPayload(i, p); err != nil {
			return nil, 0, err
		}
	}
	if err := tx.ctx.Err(); err != nil {
		return nil, 0, err
	}
	return &request{ctx: tx.ctx, typ: TypeData, payloads: payloads, t: j.o.Now().UnixNano()}, first, nil
}
