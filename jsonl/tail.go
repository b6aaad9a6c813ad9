package jsonl

import (
	"bytes"
	"io"

	"github.com/durable-go/durable/internal/mutate"
)

// Open checks only the end of a file, because that is the only place a
// crash can leave damage: everything before the last fsync that returned is
// on disk as it was written, and what came after it is at most
//   - with durable.Full, the last piece of the last batch: at most
//     maxBatch bytes of lines, or one line of any length written alone,
//     since every piece is fsynced before the next is written;
//   - with durable.Cache, whatever was written since the file last grew
//     past a multiple of maxBatch (each such append fsyncs), plus the piece
//     that crossed the next one: at most 2*maxBatch bytes of lines, or at
//     most maxBatch bytes of lines before one longer line written alone.
//
// So the unsynced bytes a crash may have lost, zeroed or cut all lie after
// tailStart: the start of the line holding the byte 2*maxBatch before the
// end, moved back by maxBatch more and again to a line start (the second
// step covers the lines before one long last line). Lines end at newlines
// the writer wrote, and a crash adds none (lost blocks read as zeros), so
// walking back to a newline never stops inside the unsynced part. The
// check reads about 3*maxBatch bytes, plus the rest of a line longer than
// that: the cost of an Open no longer grows with the file. It reads that
// much whatever the Open's own durability: the writer that crashed may
// have used the other one.
//
// Nothing extra is persisted for this (no marker of the last checked size
// that a crash, a copy or a hand edit could make stale): the bound follows
// from how appends are written. What the check gives up is the middle: a
// corrupt line further back than that is not Open's to find. Scan, Repair
// and durable fsck read the whole file and report it.

// tailStart returns where Open starts reading the file of the given size,
// at a line start; 0 for a file small enough to read whole.
func tailStart(f io.ReaderAt, size, batch int64) (int64, error) {
	if mutate.JSONLShortTail {
		// Broken on purpose: only the last batch is read.
		return lineStart(f, max(0, size-batch))
	}
	if size <= 3*batch {
		return 0, nil
	}
	l, err := lineStart(f, size-2*batch)
	if err != nil || l <= batch {
		return 0, err
	}
	return lineStart(f, l-batch)
}

// lineStart returns the start of the line holding the byte at p: the
// offset after the last newline before p, or 0. It reads backwards in
// blocks.
func lineStart(f io.ReaderAt, p int64) (int64, error) {
	const block = 64 << 10
	buf := make([]byte, block)
	for end := p; end > 0; {
		n := min(int64(block), end)
		b := buf[:n]
		if err := readFull(f, b, end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

// crossesSyncPoint reports whether a write from off to end took the file
// past a multiple of the batch size: with durable.Cache that write is
// fsynced, which bounds what a power cut can leave unsynced (see above).
func (f *File) crossesSyncPoint(off, end int64) bool {
	if mutate.JSONLCacheNeverSyncs {
		return false // broken on purpose: the unsynced part grows unbounded
	}
	b := f.o.batchSize()
	return off/b != end/b
}
