package queue

import "context"

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
