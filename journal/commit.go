package journal

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"

	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/vfs"
)

func (j *Journal) submit(r *request, op string) (uint64, error) {
	first, err, _ := j.submitAnswered(r, op)
	return first, err
}

// submitAnswered is submit that also reports whether r's batch answered
// it: the run is then done with r.
func (j *Journal) submitAnswered(r *request, op string) (first uint64, err error, answered bool) {
	if j.o.ReadOnly {
		return 0, &Error{Op: op, Path: j.dir, Offset: -1, Err: errors.New("journal opened read-only")}, true
	}
	if err := r.ctx.Err(); err != nil {
		return 0, &Error{Op: op, Path: j.dir, Offset: -1, Err: err}, true
	}
	if err := j.enter(op); err != nil {
		return 0, err, true
	}
	defer j.wg.Done()
	err = j.q.Do(r.ctx, r, j.joinFn, j.runFn)
	// Do's error is the batch's or the context's; only a caller that left
	// with its context's error may still be among a running batch's items.
	answered = err == nil
	if err == nil {
		err = r.err
	}
	return r.first, wrapErr(op, j.dir, err), answered
}

// do runs fn alone, under the lock, with the journal caught up.
func (j *Journal) do(ctx context.Context, op string, fn func() error) error {
	_, err := j.submit(&request{ctx: ctx, op: func() error {
		return j.locked(ctx, fn)
	}}, op)
	return err
}

// join lets appends share a batch; an operation runs alone. The queue
// bounds a batch's bytes (Weight, MaxWeight).
func (j *Journal) join(batch []*request, r *request) bool {
	return r.op == nil && batch[0].op == nil
}

// run writes one batch: the leader of the group commit calls it with the
// requests that queued while the previous batch was written. An operation
// (a WithLock, whose function is the caller's) runs alone: a panic in it is
// raised again in its caller's goroutine, and an append or WithLock of
// this journal from inside it is refused (ErrReentrant).
func (j *Journal) run(b *group.Batch[*request]) error {
	batch := b.Items()
	if op := batch[0].op; op != nil {
		if !b.Claim(0) {
			return nil
		}
		if group.IsOwnCode(batch[0].ctx) {
			return op() // package queue's: it never re-enters
		}
		var err error
		b.Call(0, func() { err = op() })
		return err
	}
	// The lock is waited for until every caller has given up.
	ctx, stop := b.Context()
	defer stop()
	var pend pendingFlush
	defer func() { clear(j.live) }() // the requests go back to their pool
	j.live = j.live[:0]
	j.deferCatchUp = j.shares()
	j.letJoin(j.deferCatchUp)
	err := j.locked(ctx, func() error {
		live := j.live[:0]
		n := 0
		for i, r := range batch {
			if b.Claim(i) {
				live = append(live, r)
				n += r.bytes
			}
		}
		// Appends that queued while the lock was awaited (other
		// processes held it: they appended since this one's last batch)
		// share this write and flush rather than wait for the next turn:
		// each process batches its own goroutines however long the lock
		// takes. Alone, the next batch rather forms while this one is
		// flushed.
		for j.othersWrote {
			s := b.Steal(func(items []*request) bool {
				if items[0].op != nil {
					return false
				}
				m := n
				for _, r := range items {
					m += r.bytes
				}
				return m <= j.o.MaxBatchBytes
			})
			if s == nil {
				break
			}
			for i, r := range s.Items() {
				if s.Claim(i) {
					live = append(live, r)
					n += r.bytes
				}
			}
		}
		j.live = live
		if len(live) == 0 {
			return nil
		}
		j.batch = b
		defer func() { j.batch = nil }()
		if !j.othersWrote || !j.shares() {
			return j.commit(live, j.o.flushes(), nil)
		}
		// Others append too: the flush is shared (flushmark.go), after
		// the lock is let go, so that they write while it runs.
		if err := j.commit(live, false, nil); err != nil {
			return err
		}
		j.writeMark(writtenMarkAt, j.seg.base, j.end)
		pend = pendingFlush{f: j.seg.f, base: j.seg.base, end: j.end}
		return nil
	})
	j.deferCatchUp = false
	if err != nil || pend.f == nil {
		return err
	}
	// The callers are answered when run returns: after this flush.
	if err := j.sharedFlush(ctx, pend); err != nil {
		for _, r := range j.live {
			r.first = 0
		}
		return err
	}
	j.unflushed, j.behind = false, false
	return nil
}

// locked takes the lock, catches up with the directory, appends a pending
// recovery note and runs fn.
func (j *Journal) locked(ctx context.Context, fn func() error) error {
	if j.held == nil {
		h, err := j.locker.lock(ctx)
		if err != nil {
			return err
		}
		defer h.Unlock()
		j.openMark()
	}
	others := j.othersWrote
	j.othersWrote = false
	if err := j.catchUp(others); err != nil {
		return err
	}
	if j.behind && !j.deferCatchUp {
		// Left by an append whose batch was not written or whose flush
		// did not run: an operation (a checkpoint, a Tx) relies on what
		// it caught up with, so it is made durable first.
		if err := vfs.Datasync(j.seg.f); err != nil {
			return err
		}
		j.unflushed, j.behind = false, false
	}
	if err := j.writeNote(); err != nil {
		return err
	}
	return fn()
}

// newSegment creates the segment that follows the sealed one, of capacity
// size, with alloc bytes allocated.
func (j *Journal) newSegment(size, alloc int64) error {
	seg, err := createSegment(j.fs, j.dir, &header{
		logID: j.logID, base: j.next, prevBase: j.seg.base, created: j.o.Now().UnixNano(),
		size: size, state: append([]Hash(nil), j.tree.hashes...),
	}, alloc)
	if err != nil {
		return err
	}
	j.setSegment(seg, j.tree)
	return nil
}

// rotate seals the current segment and starts the next, with at least
// need bytes allocated. The seal is flushed before the new segment exists, so that a
// process that still writes to the old one finds it sealed; the new one is
// durable (file and directory fsynced) before anything is written to it.
func (j *Journal) rotate(need int64) error {
	if !j.sealed {
		// Recovery cuts no torn batch before a seal (classifyTail): a
		// batch not known to be flushed (this process's, or others'
		// that a shared flush was to cover) is flushed before the seal
		// is written, or a power cut during the seal's flush could keep
		// the seal and lose the batch.
		if (j.unflushed || j.behind) && j.o.flushes() && !mutate.JournalSealUnflushed {
			if err := vfs.Datasync(j.seg.f); err != nil {
				return err
			}
			j.unflushed, j.behind = false, false
		}
		seal := appendFrame(nil, typeSeal, j.next, j.o.Now().UnixNano(), nil)
		if err := j.write(seal, true, nil); err != nil {
			return err
		}
		j.end += int64(len(seal))
		j.sealed = true
	}
	return j.newSegment(max(j.o.SegmentSize, need), max(j.o.firstAlloc, need))
}

// growFactor is how much each allocation step multiplies a segment's size
// by. Each step may land elsewhere on the disk, and on ext4 a file of more
// than four extents keeps them in a tree block that every append's extent
// conversion then also commits: with steps of 16 a 64 MiB segment has at
// most four (64 KiB, 1 MiB, 16 MiB, 64 MiB), and appends cost what they
// cost in a segment allocated whole (doubling measured 1.3 to 1.7 times
// slower for 4 KiB records past a few MiB).
const growFactor = 16

// grow makes the last segment at least need bytes long. Segments are
// allocated in steps, each growFactor times the last, up to their capacity,
// so that a small log stays small while a growing one pays a metadata
// commit only at each step: the new size is made durable (a full fsync; the
// segment's name already is) before anything is written into it, so that
// an append still costs only a data flush of bytes inside the file's
// durable size. A crash during the extension leaves the old size or the
// new one, with zeros after the last commit either way. Other processes
// find the new size when they catch up (scanFrom) or grow it themselves:
// the size is asked first, and never shrinks.
func (j *Journal) grow(need int64) error {
	if err := j.seg.refresh(); err != nil {
		return err
	}
	if j.seg.size >= need {
		return nil
	}
	size := max(need, min(growFactor*j.seg.size, j.seg.capacity()))
	size = (size + 4095) &^ 4095
	if err := vfs.Allocate(j.seg.f, size); err != nil {
		return err
	}
	if err := j.seg.f.Sync(); err != nil {
		return err
	}
	j.seg.size = size
	return nil
}

// zeroAhead writes zeros past the log's end, when the batch that ends at
// end reaches past what this process zeroed already: from the end, a
// step twice as long as this process's last one in the segment (from
// minZeroStep up to maxZeroStep), within the segment's allocated size. A
// process that appends once (a command-line append) so writes 16 KiB, and
// one that keeps appending soon writes a step per MiB. Only a batch of a
// block (zeroMinBatch) or more does it: a smaller one converts a block
// once in several flushes (the next ones write into the same block), which
// the zeros would not save (one writer measured no faster), while a batch
// of many blocks converts at every flush (256 writers: 1.35-1.97x). Allocated space
// (fallocate) is unwritten on ext4 and XFS: a flush of bytes written into
// it also commits the extent's conversion, a second write to the disk at
// every flush; in blocks already written, a flush writes the data alone.
// The batch's flush makes the zeros durable along with it, once per step.
// Only zeros are written, only past the end, under the lock: what a crash
// leaves is what it left before (zeros, or a torn batch, past the last
// commit). Another process does not know what this one zeroed, and may
// zero a step again.
func (j *Journal) zeroAhead(end int64) error {
	if end <= j.zeroed || end-j.end < zeroMinBatch || !j.o.flushes() || j.o.noZeroAhead {
		return nil
	}
	step := min(max(2*j.zeroStep, minZeroStep), maxZeroStep)
	from, to := max(j.zeroed, j.end), min(j.seg.size, end+step)
	if mutate.JournalZeroStale && j.zeroed > 0 {
		from = j.zeroed
	}
	if to <= from {
		return nil
	}
	// One buffer, made by the first step and written as often as a step
	// needs: a step's worth made each time was garbage enough (a MiB per
	// few thousand records) to show in the CPU per append on tmpfs.
	if j.zeros == nil {
		j.zeros = make([]byte, zeroBuf)
	}
	for off := from; off < to; {
		z := j.zeros[:min(int64(len(j.zeros)), to-off)]
		n, err := j.seg.f.WriteAt(z, off)
		if err == nil && n < len(z) {
			err = &fs.PathError{Op: "write", Path: j.seg.path, Err: io.ErrShortWrite}
		}
		if err != nil {
			return err
		}
		off += int64(n)
	}
	j.zeroed, j.zeroStep = to, step
	return nil
}

// The steps zeroAhead writes zeros in, and the least batch it does it for.
const (
	minZeroStep  = 16 << 10
	maxZeroStep  = 1 << 20
	zeroMinBatch = 4 << 10
	zeroBuf      = 64 << 10 // the zeros written at a time
)

// commit writes the requests' records, one batch (and so one flush, unless
// flush is false) per segment they need, each closed by a commit frame.
// written, if not nil, is called once every record is written, before the
// last flush.
func (j *Journal) commit(reqs []*request, flush bool, written func()) error {
	ri, pi := 0, 0 // next request, next payload in it
	for ri < len(reqs) {
		if j.sealed {
			if err := j.advance(); err != nil {
				return err
			}
		}
		capacity := j.seg.capacity() - sealSize
		buf := j.buf[:0]
		// The tree after the batch is built in the spare buffer, which
		// becomes the old tree's once the batch is written: no allocation
		// per batch. (j.tree's hashes are never shared: everyone else
		// copies them.)
		work := compact{size: j.tree.size, hashes: append(j.spareHashes[:0], j.tree.hashes...)}
		first := j.next
		n := uint64(0)
		firsts := j.firsts[:0]
		if ri == 0 && j.batch != nil {
			if pbuf, ptree, pn, k := j.adopt(j.batch, reqs, buf); k > 0 {
				buf, work, n = pbuf, ptree, pn
				m := uint64(0)
				for _, r := range reqs[:k] {
					r.first = first + m
					m += uint64(len(r.payloads))
					firsts = append(firsts, r)
				}
				ri = k
			}
		}
		for ri < len(reqs) {
			r := reqs[ri]
			p := r.payloads[pi]
			fsz := align8(frameHeader + int64(len(p)))
			if j.end+int64(len(buf))+fsz+commitSize > capacity {
				break
			}
			if pi == 0 {
				r.first = first + n
				firsts = append(firsts, r)
			}
			start := len(buf)
			buf = appendFrame(buf, r.typ, first+n, r.t, p)
			work.push(j.leafH.sum(buf[start+8 : start+frameHeader+len(p)]))
			n++
			if pi++; pi == len(r.payloads) {
				ri, pi = ri+1, 0
			}
		}
		if n == 0 {
			p := reqs[ri].payloads[pi]
			if j.next == j.seg.base {
				// The segment holds no records (a new log, or a crash
				// right after a rotation): its successor would have its
				// name, so it grows to fit the record instead.
				need := j.end + align8(frameHeader+int64(len(p))) + commitSize + sealSize
				if err := j.grow(need); err != nil {
					return err
				}
				continue
			}
			need := headerLen(64) + align8(frameHeader+int64(len(p))) + commitSize + sealSize
			if err := j.rotate((need + 4095) &^ 4095); err != nil {
				return err
			}
			continue
		}
		crc := maskCRC(crc32.Checksum(buf, castagnoli))
		info := commitInfo{count: n, crc: crc, root: work.root()}
		if (j.unflushed || j.behind) && j.o.flushes() {
			info.flags = commitAfterUnflushed
		}
		buf = appendFrame(buf, typeCommit, first, j.o.Now().UnixNano(), info.encode())
		j.buf = buf
		j.firsts = firsts
		// The batch and a seal after it fit in the segment's capacity;
		// the space they take is allocated, durably, before the write.
		if need := j.end + int64(len(buf)) + sealSize; need > j.seg.size {
			if err := j.grow(need); err != nil {
				return err
			}
		}
		if err := j.zeroAhead(j.end + int64(len(buf))); err != nil {
			for _, r := range firsts {
				r.first = 0
			}
			return err
		}
		// A crash may leave one unflushed batch at the end of the log,
		// never two: recovery tells a torn tail from damage inside the
		// log by that (classifyTail). So a batch that follows an
		// unflushed one is flushed, which covers both, and says so in
		// its commit frame: a power cut during that flush can keep its
		// pages and lose the earlier batch's, and recovery then cuts
		// both. Other processes' unflushed batches were flushed when
		// this one caught up with them (scanFrom).
		var last func()
		if ri == len(reqs) {
			last = written
		}
		flushed := flush || j.unflushed && j.o.flushes()
		// While the flush waits on the disk, the callers of the next
		// batch frame and hash it (prepare.go).
		prep := flushed && ri == len(reqs) && j.batch != nil
		if prep {
			j.prep.start(j.seg, j.end+int64(len(buf)), capacity, first+n, work)
			if len(reqs) > 1 {
				// The callers who joined the next batch before now found
				// nothing to build on: one goroutine prepares their
				// records. (A lone writer has nobody behind it.)
				go j.prepare()
			}
		}
		err := j.write(buf, flushed, last)
		if prep {
			j.prep.stop()
		}
		if err != nil {
			for _, r := range firsts {
				r.first = 0
			}
			return err
		}
		j.end += int64(len(buf))
		if flushed && j.held == nil && j.othersWrote {
			// Marked only while other processes append too: alone, a
			// writer spares the system call, and a newcomer's first
			// catch-up flushes.
			j.writeMark(flushMarkAt, j.seg.base, j.end)
		}
		j.next += n
		j.spareHashes, j.tree = j.tree.hashes[:0], work
		j.size.Store(j.next)
		j.published()
	}
	return nil
}

// write writes buf at end and flushes it, calling written (if not nil) in
// between. On failure it overwrites what it may have written with zeros, so
// that nothing is ever appended after garbage; if even that fails, the
// journal refuses further writes until it is opened again (and recovery
// cuts the tail).
func (j *Journal) write(buf []byte, flush bool, written func()) error {
	n, err := j.seg.f.WriteAt(buf, j.end)
	if err == nil && n < len(buf) {
		err = &fs.PathError{Op: "write", Path: j.seg.path, Err: io.ErrShortWrite}
	}
	if err == nil && written != nil {
		written()
	}
	if err == nil && flush && !mutate.JournalAckBeforeSync {
		err = vfs.Datasync(j.seg.f)
	}
	if err != nil {
		j.undo(len(buf), err)
		return err
	}
	j.unflushed = !flush
	if flush {
		j.behind = false
	}
	return nil
}

func (j *Journal) undo(n int, cause error) {
	err := j.clearMarks()
	zeros := make([]byte, n)
	m, werr := j.seg.f.WriteAt(zeros, j.end)
	if err == nil {
		err = werr
	}
	if err == nil && m < n {
		err = io.ErrShortWrite
	}
	if err == nil {
		err = vfs.Datasync(j.seg.f)
	}
	if err != nil {
		j.broken = fmt.Errorf("a failed write (%w) could not be undone (%v): reopen the journal to recover", cause, err)
		return
	}
	j.unflushed = false
}

// published wakes up followers. The channel is made by the first follower
// that waits (waitChan), not by every commit: a writer nobody follows
// allocates nothing here.
func (j *Journal) published() {
	j.mu.Lock()
	j.rememberLocked()
	if j.notify != nil {
		close(j.notify)
		j.notify = nil
	}
	j.mu.Unlock()
}

// waitChan returns a channel closed by the next commit.
func (j *Journal) waitChan() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.notify == nil {
		j.notify = make(chan struct{})
	}
	return j.notify
}

// writeNote appends the pending recovery note.
func (j *Journal) writeNote() error {
	if j.note == "" || j.o.ReadOnly {
		return nil
	}
	r := &request{ctx: context.Background(), typ: TypeNote, payloads: [][]byte{[]byte(j.note)}, t: j.o.Now().UnixNano()}
	if err := j.commit([]*request{r}, j.o.flushes(), nil); err != nil {
		return err
	}
	j.note = ""
	return nil
}
