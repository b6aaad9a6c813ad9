package journal

import (
	"context"
	"runtime"
)

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
	j.letJoin(share)
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

// letJoin lets the callers this process's last batch answered join the
// next one before it takes the lock, when the last turn found other
// processes' records (share: this batch may share its flush). Those
// callers were made runnable when the last batch ended, on this
// goroutine's processor, and each comes straight back with its next
// record; without a yield the leader usually got the lock first when it
// was free at that moment, wrote a batch of one, and the others waited a
// whole turn (lock, write, shared flush) for the next: with 4 processes of
// 4 goroutines a quarter of the turns carried one record, and a turn
// carried 3.0 on average, against 3.8 with the yield. It is one yield, not
// a wait: whoever is not runnable now is not waited for, and the batch
// takes what queued (Batch.Steal, under the lock) either way. Alone, or
// when the last turn found nobody else's records, the lock is taken at
// once: nobody waits behind it, so the next batch forms while this one is
// flushed.
func (j *Journal) letJoin(share bool) {
	if share && j.othersWrote {
		runtime.Gosched()
	}
}
