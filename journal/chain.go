package journal

import (
	"errors"

	"github.com/durable-go/durable/internal/mutate"
)

// AppendFlushedShared is AppendFlushedThen whose flush, in a turn of
// WithLockShared that shares it (SharesFlush), is left for after the lock
// also when an earlier batch of the turn is not flushed yet: one whose
// flush was left so too, or one appended with AppendUnflushed. The one
// flush after the lock covers them all, where AppendFlushedThen would
// flush them under the lock. So, as for a first AppendFlushed of such a
// turn, the records are durable when WithLockShared returns nil, not when
// AppendFlushedShared does, and written is called before any flush. In a
// turn that does not share its flush (alone, or WithLock), it is
// AppendFlushedThen.
//
// It lets a writer that takes turns with other processes add what became
// ready while it held the lock (package queue: the acks of the messages
// its first batch leased) without a turn of its own, which, while other
// processes append, comes after all of theirs.
//
// The batch follows one not known to be flushed, and its commit frame says
// so (FORMAT.md, "Recovery"): a power cut during the shared flush can keep
// its pages and lose the earlier batch's, and recovery then cuts both, as
// it cuts the batches of processes that share a flush.
func (tx *Tx) AppendFlushedShared(payloads [][]byte, written func()) (uint64, error) {
	if !tx.SharesFlush() || !tx.j.unflushed {
		// Nothing of this turn waits for a flush (or tx is over, which
		// append says): AppendFlushedThen leaves this batch's for after
		// the lock when the turn shares it.
		return tx.append(payloads, true, written)
	}
	j := tx.j
	r, first, err := tx.request(payloads)
	if r == nil {
		return first, err
	}
	// commit flushes a batch that follows an unflushed one of this
	// process (j.unflushed), to keep such chains out of a log that no
	// shared flush covers. Here the shared flush does: the earlier batch
	// is told to commit as what it is, a batch not known to be flushed
	// (j.behind, which flags this one's commit frame and which a rotation
	// flushes before its seal), and this one is written unflushed.
	behind := j.behind
	j.unflushed, j.behind = false, !mutate.JournalChainUnflagged
	err = j.commit([]*request{r}, false, written)
	// Written: j.unflushed is set again, and the post-lock flush of
	// WithLockShared covers both batches; behind is what it was, unless a
	// rotation flushed the segment meanwhile. Failed: the undo flushed
	// what is left (or the journal is broken, and j.unflushed still asks
	// for that flush); behind at worst asks for one flush more.
	j.behind = j.behind && behind
	if err != nil {
		return 0, err
	}
	tx.deferred = true
	if r.first != first {
		return 0, errors.New("update: records not appended where expected")
	}
	return first, nil
}

// SharesFlush reports whether this turn of WithLockShared leaves the flush
// of its flushed batches for after the lock, shared with other processes:
// they appended since this process's last batch. Alone, or in WithLock, a
// flushed batch is flushed under the lock.
func (tx *Tx) SharesFlush() bool {
	j := tx.j
	return j != nil && tx.share && j.o.flushes() && j.held == nil && j.mark != nil
}
