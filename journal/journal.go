package journal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/dirsync"
	"github.com/durable-go/durable/internal/follow"
	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/vfs"
)

// Defaults for Options.
const (
	// DefaultSegmentSize is the size segments are preallocated to.
	DefaultSegmentSize = 64 << 20
	// DefaultMaxBatchBytes bounds the payload bytes one group commit
	// gathers from concurrent callers.
	DefaultMaxBatchBytes = 4 << 20
	// DefaultOrigin starts the origin line of checkpoints; the log id
	// follows it.
	DefaultOrigin  = "durable-journal"
	minSegmentSize = 4096
)

// Options configure a journal. The zero value, like a nil *Options, gives
// the full guarantee.
type Options struct {
	// FS is the filesystem (vfs.OS{} by default): a vfs.MemFS to
	// crash-test code that uses the journal, or a fault injector.
	FS vfs.FS
	// SegmentSize is the size each segment file is preallocated to, and
	// so the point at which the journal moves to a new one
	// (DefaultSegmentSize by default, rounded up to 4 KiB). A record that
	// does not fit in a segment of this size gets a segment of its own.
	SegmentSize int64
	// MaxBatchBytes bounds the payload bytes that concurrent appends share
	// one write and one flush with (DefaultMaxBatchBytes by default).
	MaxBatchBytes int
	// Origin is the first part of the origin line of checkpoints, before
	// "/" and the log id (DefaultOrigin by default).
	Origin string
	// ReadOnly opens the journal for reading only: no lock is taken, no
	// recovery is done (a torn tail is left for a writer to cut, and
	// readers do not see it), and appends fail.
	ReadOnly bool
	// NoSync weakens durability, by name: appends are written but not
	// flushed, so they survive a crash of the process but maybe not a
	// power cut. Segment creation and recovery still flush. Never the
	// default.
	NoSync bool
	// HoldLock makes Open take the directory's lock and hold it until
	// Close, instead of taking it for each batch: appends then skip the lock
	// and the read that catches up with other writers (about 20 µs each on
	// Linux), but no other process can append meanwhile (its Open waits
	// for the lock and fails with ErrLocked). For a single writer process.
	HoldLock bool
	// Now is the clock for record times (time.Now by default).
	Now func() time.Time
	// TileEntries refuses, before anything is written, records that a
	// tlog-tiles entry bundle cannot carry (payloads over MaxTilePayload),
	// so that TilesHandler can serve every record.
	TileEntries bool
}

func (o *Options) normalize() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.FS == nil {
		c.FS = vfs.OS{}
	}
	if c.SegmentSize <= 0 {
		c.SegmentSize = DefaultSegmentSize
	}
	c.SegmentSize = max(minSegmentSize, (c.SegmentSize+4095)&^4095)
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.Origin == "" {
		c.Origin = DefaultOrigin
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Journal is an append-only log in a directory. Its methods are safe for
// concurrent use, and several processes may append to one directory: a
// lock on the file "journal.lock" in it serialises their writes.
type Journal struct {
	dir    string
	fs     vfs.FS
	o      Options
	locker locker
	unref  func() // releases the locker
	held   func() // with HoldLock: releases the lock held since Open
	q      group.Queue[*request]
	wg     sync.WaitGroup

	mu     sync.Mutex // guards closed, notify and the snapshot below
	closed bool
	notify chan struct{} // closed and replaced after every commit
	done   chan struct{} // closed by Close

	size atomic.Uint64 // next index, as this process last saw it

	// Only the batch that runs (one at a time, under the queue, with the
	// lock held) touches these.
	logID  [16]byte
	seg    *segment // the last segment
	end    int64    // offset after the last commit (or seal) in seg
	next   uint64   // index of the next record
	tree   compact  // Merkle state at next
	sealed bool     // seg ends with a seal; the next segment is due
	broken error    // a failed write could not be undone
	// unflushed: the last batch this process wrote was not flushed
	// (Tx.Append) and nothing has flushed the segment since.
	unflushed bool
	note      string // a recovery note to append
	peek      [4]byte
	buf       []byte
}

// request is one caller's part of a batch: records to append, or an
// operation that runs alone.
type request struct {
	ctx      context.Context
	typ      Type
	payloads [][]byte
	bytes    int
	t        int64
	op       func() error
	first    uint64
	err      error
}

// Open opens the journal in dir, creating the directory and the journal
// if needed. Unless opts.ReadOnly is set it takes the lock and recovers
// from a crash: it catches up with what other processes appended, cuts a
// torn tail (keeping the bytes in dir/evidence and appending a TypeNote
// record that says so) and completes an interrupted segment rotation.
// Damage anywhere but the tail is refused with an error wrapping
// ErrCorrupt that names the file and the offset.
func Open(dir string, opts *Options) (*Journal, error) {
	o := opts.normalize()
	j := &Journal{dir: dir, fs: o.FS, o: o, notify: make(chan struct{}), done: make(chan struct{})}
	j.locker, j.unref = newLocker(o.FS, dir)
	if err := j.open(); err != nil {
		j.seg.close()
		j.unref()
		return nil, wrapErr("open", dir, err)
	}
	return j, nil
}

func (j *Journal) open() error {
	if j.o.ReadOnly {
		if err := follow.Dir(j.fs, j.dir); err != nil {
			return err
		}
		return j.load()
	}
	if err := mkdirAll(j.fs, j.dir); err != nil {
		return err
	}
	// Checked once it exists: another user's link planted in a shared
	// directory is not entered, and once the name is checked there, the
	// sticky bit keeps anyone else from swapping it.
	if err := follow.Dir(j.fs, j.dir); err != nil {
		return err
	}
	unlock, err := j.locker.lock(context.Background())
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if j.o.HoldLock && ok {
			j.held = unlock
		} else {
			unlock()
		}
	}()
	if err := j.syncState(); err != nil {
		return err
	}
	if err := j.writeNote(); err != nil {
		return err
	}
	removeTemps(j.fs, j.dir)
	ok = true
	return nil
}

// Dir returns the journal's directory.
func (j *Journal) Dir() string { return j.dir }

// LogID returns the random id that names this log in every segment header
// and checkpoint.
func (j *Journal) LogID() [16]byte { return j.logID }

// Size returns the number of records (the next index), as this process last
// saw it; Head asks the directory.
func (j *Journal) Size() uint64 { return j.size.Load() }

// Append appends one record and returns its index once it is durable: the
// write and the flush that covers it have both returned. Concurrent
// callers share one write and one flush (group commit).
//
// An error means the record may or may not be in the log (the write may
// have reached the disk before the flush failed); it was not acknowledged.
func (j *Journal) Append(ctx context.Context, payload []byte) (uint64, error) {
	return j.AppendBatch(ctx, [][]byte{payload})
}

// AppendBatch appends records with consecutive indices and returns the
// first, once all of them are durable.
func (j *Journal) AppendBatch(ctx context.Context, payloads [][]byte) (uint64, error) {
	if len(payloads) == 0 {
		return 0, &Error{Op: "append", Path: j.dir, Offset: -1, Err: errors.New("no records")}
	}
	n := 0
	for i, p := range payloads {
		if len(p) > MaxPayload {
			return 0, &Error{Op: "append", Path: j.dir, Offset: -1, Err: fmt.Errorf("%w: record %d is %d bytes, the limit %d", ErrTooLarge, i, len(p), MaxPayload)}
		}
		if j.o.TileEntries && len(p) > MaxTilePayload {
			return 0, &Error{Op: "append", Path: j.dir, Offset: -1, Err: fmt.Errorf("record %d is %d bytes, more than a tlog-tiles entry bundle carries (%d bytes of payload)", i, len(p), MaxTilePayload)}
		}
		n += len(p)
	}
	return j.submit(&request{ctx: ctx, typ: TypeData, payloads: payloads, bytes: n, t: j.o.Now().UnixNano()}, "append")
}

func (j *Journal) submit(r *request, op string) (uint64, error) {
	if j.o.ReadOnly {
		return 0, &Error{Op: op, Path: j.dir, Offset: -1, Err: errors.New("journal opened read-only")}
	}
	if err := r.ctx.Err(); err != nil {
		return 0, &Error{Op: op, Path: j.dir, Offset: -1, Err: err}
	}
	if err := j.enter(op); err != nil {
		return 0, err
	}
	defer j.wg.Done()
	err := j.q.Do(r.ctx, r, j.join, j.run)
	if err == nil {
		err = r.err
	}
	return r.first, wrapErr(op, j.dir, err)
}

// enter counts an operation in, unless the journal is closed.
func (j *Journal) enter(op string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return &Error{Op: op, Path: j.dir, Offset: -1, Err: ErrClosed}
	}
	j.wg.Add(1)
	return nil
}

// do runs fn alone, under the lock, with the journal caught up.
func (j *Journal) do(ctx context.Context, op string, fn func() error) error {
	_, err := j.submit(&request{ctx: ctx, op: func() error {
		return j.locked(ctx, fn)
	}}, op)
	return err
}

func (j *Journal) join(batch []*request, r *request) bool {
	if r.op != nil || batch[0].op != nil {
		return false
	}
	n := r.bytes
	for _, b := range batch {
		n += b.bytes
	}
	return n <= j.o.MaxBatchBytes
}

// run writes one batch: the leader of the group commit calls it with the
// requests that queued while the previous batch was written. An operation
// (a Transact, whose function is the caller's) runs alone: a panic in it is
// raised again in its caller's goroutine, and an append or Transact of
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
	return j.locked(ctx, func() error {
		live := make([]*request, 0, len(batch))
		for i, r := range batch {
			if b.Claim(i) {
				live = append(live, r)
			}
		}
		if len(live) == 0 {
			return nil
		}
		return j.commit(live, !j.o.NoSync, nil)
	})
}

// locked takes the lock, catches up with the directory, appends a pending
// recovery note and runs fn.
func (j *Journal) locked(ctx context.Context, fn func() error) error {
	if j.held == nil {
		unlock, err := j.locker.lock(ctx)
		if err != nil {
			return err
		}
		defer unlock()
	}
	if err := j.syncState(); err != nil {
		return err
	}
	if err := j.writeNote(); err != nil {
		return err
	}
	return fn()
}

// syncState brings the in-memory state up to date with the directory:
// records other processes appended, segments they created or dropped, and
// the recovery of a tail a crashed writer left.
func (j *Journal) syncState() error {
	if j.broken != nil {
		return j.broken
	}
	if j.seg == nil {
		return j.load()
	}
	if j.sealed {
		if err := j.advance(); err != nil {
			return err
		}
	}
	if j.held != nil {
		return nil // nobody else can have written
	}
	n, err := j.seg.f.ReadAt(j.peek[:], j.end)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if n < len(j.peek) || allZero(j.peek[:]) {
		return nil // nobody wrote after us
	}
	return j.scanFrom(false)
}

// load reads the directory from scratch: it creates the first segment of a
// new journal, checks the chain of segment headers, and scans the last
// segment, recovering its tail.
func (j *Journal) load() error {
	bases, err := listSegments(j.fs, j.dir)
	if err != nil {
		if j.o.ReadOnly && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if len(bases) == 0 {
		if j.o.ReadOnly {
			return nil
		}
		if cp, err := readCheckpointFile(j.fs, j.dir); err == nil && cp.Size > 0 {
			return corruptAt(filepath.Join(j.dir, checkpointName), -1,
				"the checkpoint covers %d records but there are no segments", cp.Size)
		}
		if _, err := rand.Read(j.logID[:]); err != nil {
			return err
		}
		seg, err := createSegment(j.fs, j.dir, &header{
			logID: j.logID, base: 0, prevBase: noPrev, created: j.o.Now().UnixNano(), size: j.o.SegmentSize,
		})
		if err != nil {
			return err
		}
		j.setSegment(seg, compact{})
		return nil
	}
	// The segments may have been created by a process that died before
	// its directory fsync: make their names durable before relying on them.
	if err := j.syncDir(); err != nil {
		return err
	}
	start, err := chainStart(j.fs, j.dir, bases, 0)
	if err != nil {
		return err
	}
	if start > 0 {
		if err := j.dropLeftovers(bases, start); err != nil {
			return err
		}
		bases = bases[start:]
	}
	var last *segment
	for i, b := range bases {
		isLast := i == len(bases)-1
		seg, err := openSegment(j.fs, j.dir, b, isLast && !j.o.ReadOnly)
		if err != nil {
			return err
		}
		h := seg.hdr
		switch {
		case i == 0:
			j.logID = h.logID
		case h.logID != j.logID:
			seg.close()
			return tamperedAt(seg.path, 0, "segment belongs to another log (log id %x, want %x)", h.logID, j.logID)
		case h.prevBase != bases[i-1]:
			seg.close()
			return tamperedAt(seg.path, 0, "segment chain broken: the segment before this one should start at %d, but %d does", h.prevBase, bases[i-1])
		}
		if isLast {
			last = seg
		} else {
			seg.close()
		}
	}
	t, err := newCompact(last.base, last.hdr.state)
	if err != nil {
		last.close()
		return corruptAt(last.path, 0, "%v", err)
	}
	j.setSegment(last, t)
	if err := j.scanFrom(true); err != nil {
		return err
	}
	return j.checkEvidence()
}

// dropLeftovers finishes a DropBefore that a crash interrupted after some
// of its removals reached the disk, but not all, and not the oldest first:
// the segments before bases[start] are no longer linked to the log. A
// retention record must say they were dropped; then a writer removes them.
func (j *Journal) dropLeftovers(bases []uint64, start int) error {
	first, ok, err := lastDropBefore(j.fs, j.dir, bases[start:])
	if err != nil {
		return err
	}
	if !ok || first < bases[start] {
		seg := filepath.Join(j.dir, segName(bases[start]))
		return tamperedAt(seg, 0, "segment chain broken: the segment before this one is missing, and no retention record says it was dropped")
	}
	if j.o.ReadOnly {
		return nil
	}
	for _, b := range bases[:start] {
		if err := j.fs.Remove(filepath.Join(j.dir, segName(b))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return j.fs.SyncDir(j.dir)
}

func (j *Journal) setSegment(seg *segment, t compact) {
	if j.seg != nil && j.seg != seg {
		j.seg.close()
	}
	j.seg = seg
	j.end = seg.hdr.length
	j.next = seg.base
	j.tree = t
	j.sealed = false
	j.size.Store(j.next)
}

// scanFrom scans the last segment from end, accepting the batches others
// committed, following seals into later segments, and recovering a torn
// tail. full also checks that nothing but zeros lies after the last
// commit, which a power cut can make necessary.
func (j *Journal) scanFrom(full bool) error {
	for {
		// Another process may have grown a segment that held no records.
		if err := j.seg.refresh(); err != nil {
			return err
		}
		s := &scanner{seg: j.seg, fr: newFrameReader(j.seg.f, j.seg.size), off: j.end, next: j.next, tree: j.tree.clone(), track: true}
		k, d, err := s.run()
		if err != nil {
			return err
		}
		if s.off != j.end && !j.o.ReadOnly {
			// Another process wrote this, and may have died before its
			// flush: make it durable before anything relies on it.
			if err := vfs.Datasync(j.seg.f); err != nil {
				return err
			}
			j.unflushed = false // the flush covered our batches too
		}
		j.end, j.next, j.tree = s.off, s.next, s.tree
		j.size.Store(j.next)
		switch k {
		case stepSeal:
			j.sealed = true
			if err := j.advance(); err != nil {
				return err
			}
			if j.sealed {
				return nil // read-only, and the next segment is not there yet
			}
			continue
		case stepEnd:
			if !full {
				return nil
			}
			d = nil
		}
		t, bad, err := s.classifyTail(d)
		if err != nil {
			return err
		}
		if bad != nil {
			return bad
		}
		if t.end > t.start && !j.o.ReadOnly {
			if cp, err := readCheckpointFile(j.fs, j.dir); err == nil && cp.LogID == j.logID && cp.Size > j.next {
				// A checkpoint was taken after those records were
				// acknowledged: whatever damaged them, it was no crash.
				return corruptAt(j.seg.path, t.start, "the stored checkpoint covers %d records, but the intact ones end at %d: damage below the checkpoint, not a torn tail", cp.Size, j.next)
			}
			return j.cut(t)
		}
		return nil
	}
}

// advance moves from a sealed segment to the next one: the one another
// process created, or a new one. When segments were dropped meanwhile, it
// starts again from the last segment's header.
func (j *Journal) advance() error {
	next, err := openSegment(j.fs, j.dir, j.next, !j.o.ReadOnly)
	if errors.Is(err, fs.ErrNotExist) {
		bases, lerr := listSegments(j.fs, j.dir)
		if lerr != nil {
			return lerr
		}
		if n := len(bases); n > 0 && bases[n-1] > j.next {
			return j.resync(bases[n-1])
		}
		if j.o.ReadOnly {
			return nil
		}
		return j.newSegment(j.o.SegmentSize)
	}
	if err != nil {
		return err
	}
	if err := j.syncDir(); err != nil {
		next.close()
		return err
	}
	h := next.hdr
	switch {
	case h.logID != j.logID:
		next.close()
		return tamperedAt(next.path, 0, "segment belongs to another log (log id %x, want %x)", h.logID, j.logID)
	case h.prevBase != j.seg.base:
		next.close()
		return tamperedAt(next.path, 0, "segment says it follows the segment at %d, not %d", h.prevBase, j.seg.base)
	case !equalHashes(h.state, j.tree.hashes):
		next.close()
		return tamperedAt(next.path, 0, "Merkle state in the header differs from the records before it")
	}
	j.setSegment(next, j.tree)
	return nil
}

// resync starts from the header of the segment at base, skipping segments
// that were dropped while this process was not looking.
func (j *Journal) resync(base uint64) error {
	seg, err := openSegment(j.fs, j.dir, base, !j.o.ReadOnly)
	if err != nil {
		return err
	}
	if err := j.syncDir(); err != nil {
		seg.close()
		return err
	}
	if seg.hdr.logID != j.logID {
		seg.close()
		return tamperedAt(seg.path, 0, "segment belongs to another log")
	}
	t, err := newCompact(base, seg.hdr.state)
	if err != nil {
		seg.close()
		return corruptAt(seg.path, 0, "%v", err)
	}
	j.setSegment(seg, t)
	return nil
}

// syncDir makes the directory's entries durable, unless read-only.
func (j *Journal) syncDir() error {
	if j.o.ReadOnly {
		return nil
	}
	return j.fs.SyncDir(j.dir)
}

// newSegment creates the segment that follows the sealed one.
func (j *Journal) newSegment(size int64) error {
	seg, err := createSegment(j.fs, j.dir, &header{
		logID: j.logID, base: j.next, prevBase: j.seg.base, created: j.o.Now().UnixNano(),
		size: size, state: append([]Hash(nil), j.tree.hashes...),
	})
	if err != nil {
		return err
	}
	j.setSegment(seg, j.tree)
	return nil
}

// rotate seals the current segment and starts the next, of at least size
// bytes. The seal is flushed before the new segment exists, so that a
// process that still writes to the old one finds it sealed; the new one is
// durable (file and directory fsynced) before anything is written to it.
func (j *Journal) rotate(size int64) error {
	if !j.sealed {
		seal := appendFrame(nil, typeSeal, j.next, j.o.Now().UnixNano(), nil)
		if err := j.write(seal, true, nil); err != nil {
			return err
		}
		j.end += int64(len(seal))
		j.sealed = true
	}
	if err := j.newSegment(size); err != nil {
		return err
	}
	return nil
}

// grow enlarges the last segment, which holds no records, to size bytes.
// The new size is made durable (a full fsync) before anything is written
// into it; other processes find it when they catch up (scanFrom).
func (j *Journal) grow(size int64) error {
	if err := vfs.Allocate(j.seg.f, size); err != nil {
		return err
	}
	if err := j.seg.f.Sync(); err != nil {
		return err
	}
	j.seg.size = size
	return nil
}

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
		capacity := j.seg.size - sealSize
		buf := j.buf[:0]
		work := j.tree.clone()
		first := j.next
		n := uint64(0)
		var firsts []*request
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
			work.push(leafHash(buf[start+8 : start+frameHeader+len(p)]))
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
				if err := j.grow((need + 4095) &^ 4095); err != nil {
					return err
				}
				continue
			}
			need := headerLen(64) + align8(frameHeader+int64(len(p))) + commitSize + sealSize
			if err := j.rotate(max(j.o.SegmentSize, (need+4095)&^4095)); err != nil {
				return err
			}
			continue
		}
		crc := maskCRC(crc32.Checksum(buf, castagnoli))
		info := commitInfo{count: n, crc: crc, root: work.root()}
		if j.unflushed && !j.o.NoSync {
			info.flags = commitAfterUnflushed
		}
		buf = appendFrame(buf, typeCommit, first, j.o.Now().UnixNano(), info.encode())
		j.buf = buf
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
		if err := j.write(buf, flush || j.unflushed && !j.o.NoSync, last); err != nil {
			for _, r := range firsts {
				r.first = 0
			}
			return err
		}
		j.end += int64(len(buf))
		j.next += n
		j.tree = work
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
	return nil
}

func (j *Journal) undo(n int, cause error) {
	zeros := make([]byte, n)
	m, err := j.seg.f.WriteAt(zeros, j.end)
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

// published wakes up followers.
func (j *Journal) published() {
	j.mu.Lock()
	close(j.notify)
	j.notify = make(chan struct{})
	j.mu.Unlock()
}

func (j *Journal) waitChan() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.notify
}

// cut removes a torn tail: the bytes are kept durably in the evidence
// directory first, then overwritten with zeros and flushed, and a note
// record will say what was done.
func (j *Journal) cut(t tail) error {
	data := make([]byte, t.end-t.start)
	if n, err := j.seg.f.ReadAt(data, t.start); n < len(data) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	name := evidenceName(j.seg.base, t.start, data)
	// The evidence directory and file belong to the journal's owner, even
	// when root does the recovery, and no link planted there is followed.
	if err := sidecar.Mkdir(j.fs, filepath.Join(j.dir, evidenceDir), j.dir); err != nil {
		return err
	}
	if err := durable.WriteFile(filepath.Join(j.dir, evidenceDir, name), data, 0o600, durable.WithFS(j.fs), durable.SidecarOf(j.dir)); err != nil {
		return err
	}
	if !mutate.JournalSkipTruncate {
		zeros := make([]byte, len(data))
		n, err := j.seg.f.WriteAt(zeros, t.start)
		if err == nil && n < len(zeros) {
			err = &fs.PathError{Op: "write", Path: j.seg.path, Err: io.ErrShortWrite}
		}
		if err == nil {
			err = vfs.Datasync(j.seg.f)
		}
		if err != nil {
			return err
		}
		j.unflushed = false
	}
	j.note = fmt.Sprintf("recovered: cut a torn tail of %d bytes at offset %d of %s (not acknowledged: a crash interrupted its write); the bytes are kept in %s/%s",
		len(data), t.start, segName(j.seg.base), evidenceDir, name)
	return nil
}

func evidenceName(base uint64, off int64, data []byte) string {
	sum := sha256.Sum256(data)
	return fmt.Sprintf("%s-%012d-%x.torn", strings.TrimSuffix(segName(base), segSuffix), off, sum[:6])
}

// checkEvidence finds a cut whose note a crash prevented: evidence of a cut
// at the very end of the last segment.
func (j *Journal) checkEvidence() error {
	if j.o.ReadOnly || j.note != "" {
		return nil
	}
	ents, err := j.fs.ReadDir(filepath.Join(j.dir, evidenceDir))
	if err != nil {
		return nil
	}
	prefix := fmt.Sprintf("%s-%012d-", strings.TrimSuffix(segName(j.seg.base), segSuffix), j.end)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) && strings.HasSuffix(e.Name(), ".torn") && !j.sealed {
			j.note = fmt.Sprintf("recovered: cut a torn tail at offset %d of %s (the note was written after a crash during recovery); the bytes are kept in %s/%s",
				j.end, segName(j.seg.base), evidenceDir, e.Name())
		}
	}
	return nil
}

// writeNote appends the pending recovery note.
func (j *Journal) writeNote() error {
	if j.note == "" || j.o.ReadOnly {
		return nil
	}
	r := &request{ctx: context.Background(), typ: TypeNote, payloads: [][]byte{[]byte(j.note)}, t: j.o.Now().UnixNano()}
	if err := j.commit([]*request{r}, !j.o.NoSync, nil); err != nil {
		return err
	}
	j.note = ""
	return nil
}

// Head returns the number of records and the Merkle root, after catching
// up with what other processes appended.
func (j *Journal) Head(ctx context.Context) (size uint64, root Hash, err error) {
	if j.o.ReadOnly {
		// No lock and no recovery: just read what is committed.
		if err := j.enter("head"); err != nil {
			return 0, Hash{}, err
		}
		defer j.wg.Done()
		err := j.q.Do(ctx, &request{ctx: ctx, op: func() error {
			if err := j.syncState(); err != nil {
				return err
			}
			size, root = j.next, j.tree.root()
			return nil
		}}, j.join, j.run)
		return size, root, wrapErr("head", j.dir, err)
	}
	err = j.do(ctx, "head", func() error {
		size, root = j.next, j.tree.root()
		return nil
	})
	return size, root, err
}

// Close waits for appends in progress and closes the journal. It writes
// nothing: every append was durable when it returned.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return &Error{Op: "close", Path: j.dir, Offset: -1, Err: ErrClosed}
	}
	j.closed = true
	close(j.done)
	j.mu.Unlock()
	j.wg.Wait()
	if j.held != nil {
		j.held()
		j.held = nil
	}
	j.unref()
	if err := j.seg.close(); err != nil {
		return wrapErr("close", j.dir, err)
	}
	return nil
}

// mkdirAll creates dir and missing parents (0700) and makes the whole path
// durable, found directories included: segments acknowledged in dir must
// not vanish with a directory another process made and never synced.
func mkdirAll(fsys vfs.FS, dir string) error {
	return dirsync.MkdirAll(fsys, dir, 0o700, fsys.SyncDir)
}
