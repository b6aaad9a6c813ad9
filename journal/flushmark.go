package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// Marks: the first bytes of journal.lock say how far the log is known to
// be flushed, and where the last batch written by a writer that shares its
// flush ends. Both are hints, kept for processes that append to one
// journal at the same time; recovery (Open) never reads them.
//
// The flush mark lets a writer skip a flush that another process already
// made: right after a flush that started once the log was written up to
// an offset of a segment, the flusher records the log's id, the segment's
// base and that offset. A writer whose records end at or before that place
// (or in an earlier segment: a rotation flushes the segment it seals)
// knows them flushed. Anything else leaves a mark that names an earlier
// place, and the flush is done: a crash before the mark was written, an
// unflushed batch, a writer of an older release, a damaged mark (it has a
// CRC). A cut of a torn tail, or the undo of a failed write, moves the
// log's end back: both clear the marks first, under the lock.
//
// The written mark is what lets one flush serve several processes (group
// commit across processes, as PostgreSQL's WAL does it): a writer that
// shares its flush writes its batch under the journal's lock, records
// where the batch ends, lets the lock go, and flushes under a second lock
// (flush.lock), unless the flush mark already covers its batch. Before its
// flush starts it reads the written mark: every batch written up to there
// is covered by that flush, and the flush mark it records names that place.
// Writers that find the flush lock held flush alongside, without it and
// without a mark (sharedFlush), rather than wait for it in turn; those
// that come after a flush find their batches covered. A batch is
// acknowledged only after a flush that started after it was written.
const (
	markSize      = 36 // log id, base, offset, masked CRC-32C
	flushMarkAt   = 0
	writtenMarkAt = 64
	flushLockName = "flush" // the flush lock is on flush.lock
)

// openMark opens the marks once, with the lock held: the lock file exists
// then on the real filesystem. Where it does not (the in-memory model, or
// a lock file this process may not write), there are no marks: every
// catch-up flushes, and no flush is shared.
func (j *Journal) openMark() {
	if j.markTried || j.held != nil {
		return
	}
	j.markTried = true
	f, _, err := sidecar.OpenSingle(j.fs, filepath.Join(j.dir, lockName+lock.Suffix), os.O_RDWR)
	if err == nil {
		j.mark = f
		j.flock = lock.New(j.fs, filepath.Join(j.dir, flushLockName))
		// Open flush.lock now, creating it if missing, while the
		// journal's lock is held: a lock file is made under a temp name
		// and linked into place, and a process that opened it in that
		// moment found two names and refused it (the first shared
		// flushes of processes started together on a new log failed so).
		// Under the journal's lock no other process makes it, and the
		// Mutex keeps it open for every later flush.
		if h, err := j.flock.TryLock(); err == nil {
			h.Unlock()
		}
	}
}

// writeMark records at (flushMarkAt or writtenMarkAt) the place end of the
// segment at base. A failed write leaves a mark that names another place.
func (j *Journal) writeMark(at int64, base uint64, end int64) {
	if j.mark == nil {
		return
	}
	var b [markSize]byte
	copy(b[0:], j.logID[:])
	binary.LittleEndian.PutUint64(b[16:], base)
	binary.LittleEndian.PutUint64(b[24:], uint64(end))
	binary.LittleEndian.PutUint32(b[32:], maskCRC(crc32.Checksum(b[:32], castagnoli)))
	j.mark.WriteAt(b[:], at)
}

// clearMarks makes both marks name no place: the log's end is about to
// move back. Caller holds the lock. The flush lock is taken too, so that
// no flush that began before the clear records a place afterwards.
func (j *Journal) clearMarks() error {
	j.openMark() // recovery at Open cuts before any append opened them
	if j.mark == nil {
		return nil
	}
	h, err := j.flock.Lock(context.Background())
	if err != nil {
		return err
	}
	defer h.Unlock()
	var b [writtenMarkAt + markSize]byte
	_, err = j.mark.WriteAt(b[:], 0)
	return err
}

// readMark returns the place the mark at at names, if it is intact and of
// this log.
func (j *Journal) readMark(at int64) (base uint64, end int64, ok bool) {
	if j.mark == nil {
		return 0, 0, false
	}
	var b [markSize]byte
	if n, _ := j.mark.ReadAt(b[:], at); n < markSize {
		return 0, 0, false
	}
	return j.decodeMark(b[:])
}

// readMarks returns what both marks name, read in one system call (the
// shared flush asks for both at every turn).
func (j *Journal) readMarks() (flushed, written markPlace) {
	if j.mark == nil {
		return
	}
	var b [writtenMarkAt + markSize]byte
	n, _ := j.mark.ReadAt(b[:], 0)
	if n >= flushMarkAt+markSize {
		flushed.base, flushed.end, flushed.ok = j.decodeMark(b[flushMarkAt : flushMarkAt+markSize])
	}
	if n >= writtenMarkAt+markSize {
		written.base, written.end, written.ok = j.decodeMark(b[writtenMarkAt:])
	}
	return flushed, written
}

// markPlace is what a mark names, if ok.
type markPlace struct {
	base uint64
	end  int64
	ok   bool
}

// covers reports whether the place is at or after end of the segment at
// base.
func (m markPlace) covers(base uint64, end int64) bool {
	return m.ok && (m.base > base || m.base == base && m.end >= end)
}

// decodeMark decodes a mark: the place it names, if it is intact and of
// this log.
func (j *Journal) decodeMark(b []byte) (base uint64, end int64, ok bool) {
	if binary.LittleEndian.Uint32(b[32:]) != maskCRC(crc32.Checksum(b[:32], castagnoli)) || [16]byte(b[:16]) != j.logID {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint64(b[16:]), int64(binary.LittleEndian.Uint64(b[24:])), true
}

// markSays reports whether the flush mark says the log is flushed up to
// end of the segment at base.
func (j *Journal) markSays(base uint64, end int64) bool {
	b, e, ok := j.readMark(flushMarkAt)
	return markPlace{b, e, ok}.covers(base, end)
}

// pendingFlush is a batch written with its flush left for after the lock
// is let go (sharedFlush).
type pendingFlush struct {
	f    vfs.File // its segment
	base uint64
	end  int64
}

// shares reports whether this batch may share its flush with other
// processes: they appended since this process's last batch (so taking
// turns with the flush inside the lock would cost each turn a flush), the
// marks are there, and no unflushed batch of this process's own is pending
// (which the next batch must flush and cover under the lock).
func (j *Journal) shares() bool {
	return j.mark != nil && j.held == nil && j.o.flushes() && !j.unflushed
}

// sharedFlush makes the batch p durable, after the journal's lock was let
// go: under the flush lock, it is done if the flush mark covers it;
// otherwise the place the written mark names (at least p's end) is read,
// the segment flushed, and that place recorded in the flush mark. When
// another process (or goroutine) holds the flush lock, it flushes the
// segment alongside that flush, without the lock, and records nothing: the
// flush in progress may have begun before p was written, and waiting for
// the lock only to find that out handed the lock from process to process,
// one wake-up after another, each after the flush (with 4 processes
// updating one store in log mode, the flush lock's waits were most of an
// update's time, and a turn of it took twice the flush). Flushes that run
// at once may cost more device flushes than one shared flush would; the
// bench measured the trade a gain (with this change among others,
// journal-4p4g went from 0.50× to 0.66× and store-4p-log from 0.57× to
// 0.74×). A flush that starts after p was written covers p, whoever else
// flushes: that is all an acknowledgement needs. A failed
// flush cannot be undone as a failed write is: other processes may already
// have written after the batch. The journal then refuses further writes
// until it is opened again.
func (j *Journal) sharedFlush(ctx context.Context, p pendingFlush) error {
	// A flush that covers the batch may have ended while the lock was
	// let go: the mark names only places a flush covered (clearMarks
	// keeps it so), whoever holds the flush lock.
	if !mutate.JournalSkipSharedFlush && j.markSays(p.base, p.end) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	unlock, err := j.flock.TryLock()
	if errors.Is(err, lock.ErrLocked) {
		// Flush alongside; a mark written without the lock could
		// outlive a clearMarks and name bytes written after it.
		if mutate.JournalSkipSharedFlush {
			return nil
		}
		if err := vfs.Datasync(p.f); err != nil {
			j.broken = fmt.Errorf("a failed flush (%w) cannot be undone once other processes may have written after it: reopen the journal to recover", err)
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer unlock.Unlock()
	flushed, written := j.readMarks()
	if mutate.JournalSkipSharedFlush || flushed.covers(p.base, p.end) {
		return nil
	}
	end := p.end
	if written.ok && written.base == p.base && written.end > end {
		end = written.end
	}
	if err := vfs.Datasync(p.f); err != nil {
		j.broken = fmt.Errorf("a failed flush (%w) cannot be undone once other processes may have written after it: reopen the journal to recover", err)
		return err
	}
	j.writeMark(flushMarkAt, p.base, end)
	return nil
}
