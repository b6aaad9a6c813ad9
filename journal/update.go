package journal

import (
	"context"
	"errors"
	"fmt"
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
	err := j.Transact(ctx, func(tx *Tx) error {
		payloads, err := fn(tx.Size())
		if err != nil {
			return err
		}
		first, err = tx.Append(payloads, true)
		return err
	})
	return first, err
}

// Transact runs fn under the directory's lock, caught up with what other
// processes appended, as Update does; fn may append several batches with
// tx, flushed or not, each decided against what it has read and appended
// before. What fn appended stays appended when it then returns an error.
// tx must not be used after fn returns.
func (j *Journal) Transact(ctx context.Context, fn func(tx *Tx) error) error {
	return j.do(ctx, "update", func() error {
		tx := &Tx{j: j, ctx: ctx}
		defer func() { tx.j = nil }()
		return fn(tx)
	})
}

// Tx is the journal inside Transact.
type Tx struct {
	j   *Journal
	ctx context.Context
}

// Size returns the number of records: the index the next one will get.
func (tx *Tx) Size() uint64 { return tx.j.next }

// Unflushed reports whether the last batch was appended without a flush
// that has not happened since: the next Append then flushes, whatever it
// is told.
func (tx *Tx) Unflushed() bool { return tx.j.unflushed && !tx.j.o.NoSync }

// Append appends payloads as one batch and returns the index of the first
// (Size, when there are none). With flush, it returns once they are
// durable. Without, it returns once they are written: every process sees
// them and they survive a crash of this one, but not necessarily a power
// cut, until a later flush of the segment by any process (an Append, an
// Update, a flushed batch of a Transact, a rotation's seal, a writer that
// catches up with them) makes them durable: a flush covers every byte
// written to the file before it. This is for records whose loss in a power
// cut costs only a repetition (a lease, which only live processes care
// about). A power cut still leaves a prefix of the log: the batch after an
// unflushed one is always flushed, whatever flush says, and marked so
// that recovery can cut both if a power cut during that flush tears the
// earlier one (classifyTail).
func (tx *Tx) Append(payloads [][]byte, flush bool) (uint64, error) {
	return tx.AppendThen(payloads, flush, nil)
}

// AppendThen is Append that calls written, if not nil, once the records
// are written (seen by every process that takes the lock, surviving a crash
// of this one) and before they are flushed. It is for work that needs the
// records written but not durable, such as handing out a lease, so that
// it need not wait for the flush. If the flush then fails, the records are
// wiped as on any failed Append (and AppendThen returns the error): what
// written let go was never durable, as after a power cut.
func (tx *Tx) AppendThen(payloads [][]byte, flush bool, written func()) (uint64, error) {
	j := tx.j
	if j == nil {
		return 0, errors.New("journal: Tx used after its Transact returned")
	}
	first := j.next
	if len(payloads) == 0 {
		return first, nil
	}
	for i, p := range payloads {
		if len(p) > MaxPayload {
			return 0, fmt.Errorf("%w: record %d is %d bytes, the limit %d", ErrTooLarge, i, len(p), MaxPayload)
		}
	}
	if err := tx.ctx.Err(); err != nil {
		return 0, err
	}
	r := &request{ctx: tx.ctx, typ: TypeData, payloads: payloads, t: j.o.Now().UnixNano()}
	if err := j.commit([]*request{r}, flush && !j.o.NoSync, written); err != nil {
		return 0, err
	}
	if r.first != first {
		return 0, errors.New("update: records not appended where expected")
	}
	return first, nil
}
