package queue

import (
	"context"
	"fmt"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/journal"
)

// compactBytes bounds the payload bytes one compaction moves, so that its
// batch (and the memory it takes) stays small whatever the backlog; the
// messages it leaves keep the records from the first of them on.
const compactBytes = 16 << 20

// maybeCompact reclaims space when enough records accumulated and few
// messages are live, and otherwise writes a state snapshot when one is
// due. Its errors are not the caller's: the Ack is durable either way, and
// the next compaction tries again.
func (q *Queue) maybeCompact(ctx context.Context) {
	q.mu.Lock()
	// Moves rewrite every live message: compact only when at least twice
	// as many records were written since the last compaction, so that the
	// rewriting costs at most half of what was written.
	n := q.st.seen - q.st.base
	live := uint64(q.st.live)
	due := n >= uint64(q.o.CompactRecords) && 2*live <= n &&
		q.st.seen-q.st.lastCp >= max(uint64(q.o.CompactRecords)/2, 2*live)
	q.mu.Unlock()
	if due {
		q.Compact(ctx)
	} else {
		q.maybeSnapshot(ctx)
	}
}

// Compact reclaims space: it rewrites the live messages that lie in old
// segments at the end of the journal (a "move" event that carries their
// payload and state; their ID stays), then drops every segment below, and
// writes a state snapshot. A drained queue returns to one segment. Ack
// calls it when due.
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
		ms := q.st.below(cut)
		if len(ms) == 0 {
			return nil
		}
		// One pass over the journal from the oldest payload, in the
		// order of the records.
		k, budget := 0, compactBytes
		for rec, err := range q.j.Scan(ms[0].loc) {
			if err != nil {
				return err
			}
			m := ms[k]
			if rec.Index < m.loc {
				continue
			}
			if rec.Index > m.loc || rec.Type != journal.TypeData {
				break
			}
			e, err := decodeEvent(rec.Payload)
			if err != nil {
				return fmt.Errorf("record %d: %w", rec.Index, err)
			}
			if !(e.Kind == kindPush && ID(rec.Index) == m.id) && !(e.Kind == kindMove && e.ID == m.id) {
				break
			}
			emit(event{Kind: kindMove, ID: m.id, State: m.state(), Time: m.at, Attempts: m.attempts(), Payload: e.Payload})
			budget -= len(e.Payload)
			if k++; k == len(ms) || budget <= 0 {
				break
			}
		}
		if k < len(ms) {
			if budget > 0 {
				return fmt.Errorf("%w: message %v's payload, record %d, is missing from the journal", durable.ErrCorrupt, ms[k].id, ms[k].loc)
			}
			cut = ms[k].loc // the rest next time
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
	if err != nil {
		return q.wrap("compact", err)
	}
	return q.wrap("compact", q.writeSnapshot(ctx))
}
