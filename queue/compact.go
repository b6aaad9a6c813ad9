package queue

import "context"

// compactBytes bounds the payload bytes one compaction moves, so that its
// batch (and the memory it takes) stays small whatever the backlog; the
// messages it leaves keep the records from the first of them on.
const compactBytes = 16 << 20

// maybeCompact reclaims space when enough records accumulated and few
// messages are live, and otherwise writes a state snapshot when one is
// due. Its errors are not the caller's: the Ack is durable either way, and
// the next compaction tries again.
func (q *Queue) maybeCompact(ctx context.Context) {
	due := q.compactDue()
	if due && q.cmp.Load() {
		return // one runs in this process
	}
	// A compaction another process did since counts as this one's
	// (peerSnapshot).
	if due && (!q.peerSnapshot() || q.compactDue()) {
		q.compact(ctx, true)
	} else {
		q.maybeSnapshot(ctx)
	}
}

// compactDue reports whether this handle should compact.
func (q *Queue) compactDue() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.compactDueLocked()
}

// compactDueLocked is compactDue for a caller that holds q.mu.
func (q *Queue) compactDueLocked() bool {
	// Moves rewrite every live message: compact only when at least twice
	// as many records were written since the last compaction, so that the
	// rewriting costs at most half of what was written.
	n := q.st.seen - q.st.base
	live := uint64(q.st.live)
	return n >= uint64(q.o.CompactRecords) && 2*live <= n &&
		q.st.seen-q.st.lastCp >= max(uint64(q.o.CompactRecords)/2, 2*live)
}

// Compact reclaims space: it rewrites the live messages that lie in old
// segments at the end of the journal (a "move" event that carries their
// payload and state; their ID stays), then drops every segment below, and
// writes a state snapshot if it dropped any (or one is due). A drained
// queue returns to one segment. Ack calls it when due.
func (q *Queue) Compact(ctx context.Context) error {
	return q.compact(ctx, false)
}

// compact is Compact; when due is set, only if a compaction is still due
// once the state has caught up under the lock. Processes (and handles)
// whose compactions fall due together, each counting the same records,
// then compact once: the first writes its moves, and the others find them
// (applyEvent) and that nothing is due any more. Without the check each
// moved every live message again, and dropped and wrote a snapshot again.
func (q *Queue) compact(ctx context.Context, due bool) error {
	if err := q.check("compact", ctx); err != nil {
		return err
	}
	if !q.cmp.CompareAndSwap(false, true) {
		return nil
	}
	defer q.cmp.Store(false)
	var cut uint64
	skip := false
	err := q.update(ctx, synced, func(_ int64, emit func(event)) error {
		if due && !q.compactDueLocked() {
			skip = true
			return nil
		}
		cut = q.st.seen
		ms := q.st.below(cut)
		if len(ms) == 0 {
			return nil
		}
		// One pass over the journal from the oldest payload, in the
		// order of the records.
		k, budget := 0, compactBytes
		err := q.eachPayload(ms, func(m slot, p []byte) bool {
			emit(event{Kind: kindMove, ID: m.id, State: m.state(), Time: m.at, Attempts: m.attempts(), Payload: p})
			k++
			budget -= len(p)
			return budget > 0
		})
		if err != nil {
			return err
		}
		if k < len(ms) {
			cut = ms[k].loc // the rest next time
		}
		return nil
	})
	if err != nil || skip {
		return q.wrap("compact", err)
	}
	first, err := q.j.DropBefore(ctx, cut)
	q.mu.Lock()
	q.st.lastCp = q.st.seen
	dropped := err == nil && first > q.st.base
	if dropped {
		q.st.base = first
	}
	q.mu.Unlock()
	if err != nil {
		return q.wrap("compact", err)
	}
	// A snapshot from before a drop would no longer match the journal
	// (Open would rebuild the state from the records); one that does
	// still match is kept until the next is due (maybeSnapshot): a
	// compaction that dropped nothing (its records share the last
	// segment) changed nothing Open needs.
	if !dropped && !q.snapDue() {
		return nil
	}
	return q.wrap("compact", q.writeSnapshot(ctx))
}
