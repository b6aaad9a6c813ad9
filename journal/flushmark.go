package journal

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/lock"
)

// The flush mark: the first bytes of journal.lock say how far the log is
// known to be flushed. A writer that catches up with batches other
// processes appended flushes them before relying on them, since their
// writer may have died between its write and its flush; that flush costs a
// device cache flush at every turn of the lock when processes take turns.
// The mark lets a writer skip it: right after a flush that covers the log
// up to an offset, the writer (holding the lock) records the last
// segment's base and that offset; a writer that catches up to exactly that
// place knows it flushed. Anything else leaves a mark that names another
// place, and the flush is done: a crash before the mark was written, an
// unflushed batch (Tx.AppendUnflushed, durable.Cache), a writer of an
// older release, a damaged mark (it has a CRC). The mark is a hint for
// this one decision only; recovery (Open) never reads it.

const markSize = 20 // base, offset, masked CRC-32C

// openMark opens the mark once, with the lock held: the lock file exists
// then on the real filesystem. Where it does not (the in-memory model, or
// a lock file this process may not write), there is no mark, and every
// catch-up flushes.
func (j *Journal) openMark() {
	if j.markTried || j.held != nil {
		return
	}
	j.markTried = true
	f, _, err := sidecar.OpenSingle(j.fs, filepath.Join(j.dir, lockName+lock.Suffix), os.O_RDWR)
	if err == nil {
		j.mark = f
	}
}

// writeMark records that the log is flushed up to j.end of the last
// segment. A failed write leaves a mark that names another place.
func (j *Journal) writeMark() {
	if j.mark == nil {
		return
	}
	var b [markSize]byte
	binary.LittleEndian.PutUint64(b[0:], j.seg.base)
	binary.LittleEndian.PutUint64(b[8:], uint64(j.end))
	binary.LittleEndian.PutUint32(b[16:], maskCRC(crc32.Checksum(b[:16], castagnoli)))
	j.mark.WriteAt(b[:], 0)
}

// markSays reports whether the mark says the log is flushed up to end of
// the segment at base.
func (j *Journal) markSays(base uint64, end int64) bool {
	if j.mark == nil {
		return false
	}
	var b [markSize]byte
	if n, _ := j.mark.ReadAt(b[:], 0); n < markSize {
		return false
	}
	return binary.LittleEndian.Uint32(b[16:]) == maskCRC(crc32.Checksum(b[:16], castagnoli)) &&
		binary.LittleEndian.Uint64(b[0:]) == base && int64(binary.LittleEndian.Uint64(b[8:])) == end
}
