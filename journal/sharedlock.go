package journal

import "context"

// WithLockShared is WithLock for writers in several processes: it lets
// the flush go after the lock, where it is shared with other processes
// (FORMAT.md, "The marks"), as concurrent Appends share theirs. Under the
// lock, the catch-up leaves the records other processes wrote unflushed,
// and the first AppendFlushed only writes its batch (a later one flushes,
// under the lock, and covers both). Once fn returns and the lock is let
// go, one flush that started after everything fn read and appended was
// written makes it durable, unless another process's flush already
// covers it; it runs also when fn appended nothing but read records not
// known to be flushed, so that what fn decided on is durable when
// WithLockShared returns. So what fn appended with AppendFlushed is
// durable when WithLockShared returns nil, not when AppendFlushed does;
// an AppendFlushedThen whose flush is left for after the lock calls
// written before any flush, and a failure of that flush is not undone
// (others may have written after the batch): the journal then refuses
// writes until it is opened again. Records are appended even when fn then
// fails, and flushed all the same. Alone (no other process appended since
// this one's last batch, or without the marks), it is WithLock.
func (j *Journal) WithLockShared(ctx context.Context, fn func(tx *Tx) error) error {
	_, err := j.submit(&request{ctx: ctx, op: func() error {
		return j.lockedShared(ctx, fn)
	}}, "update")
	return err
}

func (j *Journal) lockedShared(ctx context.Context, fn func(tx *Tx) error) error {
	var pend pendingFlush
	share := j.shares()
	j.deferCatchUp = share
	defer func() { j.deferCatchUp = false }()
	err := j.locked(ctx, func() error {
		// A catch-up that found nobody else's records flushes nothing
		// and leaves nothing behind: sharing would only add the marks.
		j.deferCatchUp = false
		tx := &Tx{j: j, ctx: ctx, share: share && j.othersWrote}
		defer func() { tx.j = nil }()
		err := fn(tx)
		if share && (tx.deferred && j.unflushed || j.behind) {
			j.writeMark(writtenMarkAt, j.seg.base, j.end)
			pend = pendingFlush{f: j.seg.f, base: j.seg.base, end: j.end}
		}
		return err
	})
	if pend.f == nil {
		return err
	}
	if ferr := j.sharedFlush(ctx, pend); ferr != nil {
		return ferr
	}
	j.unflushed, j.behind = false, false
	return err
}
