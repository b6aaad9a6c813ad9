package journal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/dirsync"
	"github.com/durable-go/durable/internal/errs"
	"github.com/durable-go/durable/internal/follow"
	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// Defaults for Options.
const (
	// DefaultSegmentSize is the size a segment grows to before the
	// journal moves to the next one.
	DefaultSegmentSize = 64 << 20
	// DefaultMaxBatchBytes bounds the payload bytes one group commit
	// gathers from concurrent callers.
	DefaultMaxBatchBytes = 4 << 20
	// DefaultOrigin starts the origin line of checkpoints; the log id
	// follows it.
	DefaultOrigin  = "durable-journal"
	minSegmentSize = 4096
	// firstAlloc is what a new segment is allocated with; it doubles as
	// records fill it, up to the segment size (Journal.grow).
	firstAlloc = 64 << 10
)

// Options configure a journal. The zero value, like a nil *Options, gives
// the full guarantee.
type Options struct {
	// FS is the filesystem (vfs.OS{} by default): a vfs.MemFS to
	// crash-test code that uses the journal, or a fault injector.
	FS vfs.FS
	// SegmentSize is the size a segment file grows to, and so the point at
	// which the journal moves to a new one (DefaultSegmentSize by default,
	// rounded up to 4 KiB). Space is allocated ahead in steps, from 64 KiB
	// and 16 times more each time, so that a small log stays small. A
	// record that does not fit in a segment of this size gets a segment of
	// its own.
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
	// Durability is durable.Full by default: an append returns once the
	// flush that covers it has. durable.Cache weakens that, by name:
	// appends are written but not flushed, so they survive a crash of the
	// process but maybe not a power cut. Segment creation and recovery
	// still flush, and so does a checkpoint before it signs.
	Durability durable.Durability
	// NoSync is Durability: durable.Cache.
	//
	// Deprecated: Set Durability to durable.Cache, the knob every package
	// of this module shares.
	NoSync bool
	// HoldLock makes Open take the directory's lock and hold it until
	// Close, instead of taking it for each batch: appends then skip the lock
	// and the read that catches up with other writers (about 20 µs each on
	// Linux), but no other process can append meanwhile (its Open waits
	// for the lock and fails with ErrLocked). For a single writer process.
	HoldLock bool
	// NoFollow refuses a symbolic link (or anything but a directory) at
	// dir with ErrUnsafeFile, wherever it is, before anything is created
	// or opened in it. It is for a journal whose directory a package keeps
	// beside a caller's file under a name it derives (the store's patch
	// log): such a name is a sidecar, never reached through a link,
	// while a directory the caller names is followed under the rule for
	// shared directories (see the package documentation).
	NoFollow bool
	// Now is the clock for record times (time.Now by default).
	Now func() time.Time
	// TileEntries refuses, before anything is written, records that a
	// tlog-tiles entry bundle cannot carry (payloads over MaxTilePayload),
	// so that TilesHandler can serve every record.
	TileEntries bool

	// firstAlloc overrides firstAlloc, for tests that grow segments.
	firstAlloc int64
	// noZeroAhead turns zeroAhead off, for the benchmark that measures
	// what it saves.
	noZeroAhead bool
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
	if c.NoSync {
		c.Durability = durable.Cache
	}
	if c.firstAlloc <= 0 {
		c.firstAlloc = firstAlloc
	}
	c.firstAlloc = min(c.SegmentSize, (c.firstAlloc+4095)&^4095)
	return c
}

// flushes reports whether appends are flushed (Durability Full).
func (o *Options) flushes() bool { return o.Durability == durable.Full }

// Journal is an append-only log in a directory. Its methods are safe for
// concurrent use, and several processes may append to one directory: a
// lock on the file "journal.lock" in it serialises their writes, and
// they share flushes (FORMAT.md, "The marks").
type Journal struct {
	dir    string
	fs     vfs.FS
	o      Options
	locker locker
	unref  func() // releases the locker
	held   func() // with HoldLock: releases the lock held since Open
	q      group.Queue[*request]
	joinFn func([]*request, *request) bool    // j.join and j.run, made once:
	runFn  func(*group.Batch[*request]) error // a method value allocates
	wg     sync.WaitGroup

	mu     sync.Mutex // guards closed, notify and the snapshot below
	closed bool
	notify chan struct{} // closed by the next commit; made when a follower waits
	done   chan struct{} // closed by Close

	size atomic.Uint64 // next index, as this process last saw it

	// Only the batch that runs (one at a time, under the queue, with the
	// lock held) touches these.
	logID [16]byte
	seg   *segment // the last segment
	end   int64    // offset after the last commit (or seal) in seg
	// zeroed: this process wrote zeros in seg up to here, the last time
	// in a step of zeroStep bytes (zeroAhead)
	zeroed, zeroStep int64
	zeros            []byte  // zeroBuf zeros, once zeroAhead needs them
	next             uint64  // index of the next record
	tree             compact // Merkle state at next
	// spareHashes is the buffer commit builds the next tree in; it never
	// shares an array with tree.
	spareHashes []Hash
	sealed      bool  // seg ends with a seal; the next segment is due
	broken      error // a failed write could not be undone
	// unflushed: the last batch this process wrote was not flushed
	// (Tx.AppendUnflushed) and nothing has flushed the segment since.
	unflushed bool
	note      string // a recovery note to append
	peek      [4]byte
	catchBuf  []byte // the catch-up's read buffer, kept between turns
	buf       []byte
	live      []*request // the claimed requests of the batch that runs
	firsts    []*request // commit's: the requests a batch starts
	leafH     leafHasher // commit's, for leaf hashes
	mark      vfs.File   // the marks (flushmark.go), once opened
	markTried bool
	flock     *lock.Mutex // the flush lock, with the marks
	// behind: records other processes wrote before j.end are not known
	// to be flushed; this process's next flush covers them
	// (deferCatchUp let the catch-up leave them so).
	behind       bool
	deferCatchUp bool
	// othersWrote: the last catch-up found records other processes
	// appended since this one's last batch.
	othersWrote bool

	// places are where the last batches this journal wrote or caught up
	// with end (hint.go), guarded by mu; noPlaces turns them off (tests).
	places   [places]place
	nplaces  int
	noPlaces bool

	// batch is the batch of appends that runs, while it commits; prep is
	// the next one, prepared during its flush (prepare.go).
	batch   *group.Batch[*request]
	prep    prepared
	adopted uint64 // records written as prepared, for tests

	// reqs recycles the requests of Append and AppendBatch: at hundreds
	// of writers their allocation showed in the CPU per append.
	reqs sync.Pool
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
	one      [1][]byte // payloads of a single Append, without an allocation
}

// newRequest returns a request for records, from the pool.
func (j *Journal) newRequest(ctx context.Context, payloads [][]byte, bytes int) *request {
	r, _ := j.reqs.Get().(*request)
	if r == nil {
		r = new(request)
	}
	r.ctx, r.typ, r.payloads, r.bytes, r.t = ctx, TypeData, payloads, bytes, j.o.Now().UnixNano()
	return r
}

// recycle returns r to the pool. Only a request whose batch has run may be
// recycled: one whose caller left early may still be among a running
// batch's items.
func (j *Journal) recycle(r *request) {
	*r = request{}
	j.reqs.Put(r)
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
	if o.Durability != durable.Full && o.Durability != durable.Cache {
		return nil, &Error{Op: "open", Path: dir, Offset: -1, Err: fmt.Errorf("unknown durability %v", o.Durability)}
	}
	j := &Journal{dir: dir, fs: o.FS, o: o, done: make(chan struct{}), leafH: newLeafHasher()}
	j.joinFn, j.runFn = j.join, j.run
	j.q.Weight = func(r *request) int { return r.bytes }
	j.q.MaxWeight = o.MaxBatchBytes
	j.q.Joined = j.prepare
	j.locker, j.unref = newLocker(o.FS, dir)
	if err := j.open(); err != nil {
		j.seg.close()
		j.unref()
		return nil, wrapErr("open", dir, err)
	}
	return j, nil
}

func (j *Journal) open() error {
	if j.o.NoFollow {
		if err := j.refuseLink(); err != nil {
			return err
		}
	}
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
	if j.o.NoFollow {
		if err := j.refuseLink(); err != nil {
			return err
		}
	}
	h, err := j.locker.lock(context.Background())
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if j.o.HoldLock && ok {
			j.held = func() { h.Unlock() }
		} else {
			h.Unlock()
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
	if err := j.checkPayload(0, payload); err != nil {
		return 0, err
	}
	r := j.newRequest(ctx, nil, len(payload))
	r.one[0] = payload
	r.payloads = r.one[:]
	return j.submitRecords(r)
}

func (j *Journal) checkPayload(i int, p []byte) error {
	if len(p) > MaxPayload {
		return &Error{Op: "append", Path: j.dir, Offset: -1, Err: fmt.Errorf("%w: record %d is %d bytes, the limit %d", ErrTooLarge, i, len(p), MaxPayload)}
	}
	if j.o.TileEntries && len(p) > MaxTilePayload {
		return &Error{Op: "append", Path: j.dir, Offset: -1, Err: fmt.Errorf("record %d is %d bytes, more than a tlog-tiles entry bundle carries (%d bytes of payload)", i, len(p), MaxTilePayload)}
	}
	return nil
}

// submitRecords submits a pooled request and recycles it once its batch
// has answered it.
func (j *Journal) submitRecords(r *request) (uint64, error) {
	first, err, answered := j.submitAnswered(r, "append")
	if answered {
		j.recycle(r)
	}
	return first, err
}

// AppendBatch appends records with consecutive indices and returns the
// first, once all of them are durable.
func (j *Journal) AppendBatch(ctx context.Context, payloads [][]byte) (uint64, error) {
	if len(payloads) == 0 {
		return 0, &Error{Op: "append", Path: j.dir, Offset: -1, Err: errors.New("no records")}
	}
	n := 0
	for i, p := range payloads {
		if err := j.checkPayload(i, p); err != nil {
			return 0, err
		}
		n += len(p)
	}
	return j.submitRecords(j.newRequest(ctx, payloads, n))
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
		}}, j.joinFn, j.runFn)
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
	if j.flock != nil {
		j.flock.Close()
	}
	if j.mark != nil {
		j.mark.Close()
	}
	if err := j.seg.close(); err != nil {
		return wrapErr("close", j.dir, err)
	}
	return nil
}

// refuseLink fails with ErrUnsafeFile when dir is there and is not a
// directory: a symbolic link to one included (Options.NoFollow).
func (j *Journal) refuseLink() error {
	fi, err := j.fs.Lstat(j.dir)
	if err != nil || fi.IsDir() {
		return nil // a missing dir is created, or its absence reported, later
	}
	return fmt.Errorf("%w: %s is %s, not the journal's directory", errs.ErrUnsafeFile, j.dir, describeType(fi.Mode().Type()))
}

// mkdirAll creates dir and missing parents (0700) and makes the whole path
// durable, found directories included: segments acknowledged in dir must
// not vanish with a directory another process made and never synced.
func mkdirAll(fsys vfs.FS, dir string) error {
	return dirsync.MkdirAll(fsys, dir, 0o700, fsys.SyncDir)
}
