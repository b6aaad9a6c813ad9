package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/durable-go/durable/vfs"
)

// The raw sequences are the floors every ratio is measured against: what a
// durable replace and a durable append cost when nothing is added to the
// system calls that make them durable. They live here once; the bench/
// module imports them too (a nested module may import its parent's
// internal packages), so the Go benchmarks, durable bench and bench/
// measure against the same floor.

// RawReplace is the minimal durable replace, with nothing durable adds:
// open a temp file, write, fsync, close, rename, fsync the directory. It is
// the floor every ratio is measured against. tmp must not exist and must
// not be used concurrently.
func RawReplace(dir, name string, data []byte, tmp string) error {
	t := filepath.Join(dir, tmp)
	f, err := os.OpenFile(t, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := (vfs.OS{}).Rename(t, filepath.Join(dir, name)); err != nil {
		return err
	}
	return SyncDir(dir)
}

// RawReplacer returns RawReplace of path with a fresh temp name on every
// call (path.N.tmp): safe for concurrent use.
func RawReplacer() func(path string, data []byte) error {
	var n atomic.Uint64
	return func(path string, data []byte) error {
		dir, name := filepath.Split(path)
		return RawReplace(filepath.Clean(dir), name, data, fmt.Sprintf("%s.%d.tmp", name, n.Add(1)))
	}
}

// SyncDir makes the entries created or renamed in a directory durable:
// fsync(2) of the directory, or on Windows, which has none, what the
// library does instead (vfs.OS.SyncDir), so the floor is a sequence that
// works there too.
func SyncDir(dir string) error { return (vfs.OS{}).SyncDir(dir) }

// RawAppender is the floor a journal append is measured against: write
// the record at the next offset of a preallocated file and flush it with
// fdatasync, nothing else (no framing, no checksum, no lock, no tree).
// Concurrent callers each reserve an offset and flush on their own: one
// fdatasync per writer, and any sharing of a flush is the kernel's doing,
// not a group commit.
type RawAppender struct {
	s *space
}

// NewRawAppender preallocates size bytes in dir/raw-floor the way the
// journal preallocates its segments (fallocate, then fsync of the file and
// of dir), so that every append only has to flush data. When they are
// used up it allocates size bytes more (see space).
func NewRawAppender(dir string, size int64) (*RawAppender, error) {
	s, err := openSpace(filepath.Join(dir, "raw-floor"), size)
	if err != nil {
		return nil, err
	}
	return &RawAppender{s: s}, nil
}

// space is a floor's file, written front to back and never twice in the
// same place. On ext4 the first flush of blocks written since fallocate
// also commits their conversion from unwritten extents: here a 16 KiB
// write+fdatasync into never-written space took 300 µs, into blocks
// written before 197 µs (medians). A log pays the first price for every
// block it adds, so a floor that wrapped around and overwrote its own
// records would, from its second lap on, measure something no log does
// (the 256-writer floor wrote nearly four laps of 64 MiB in a full run).
// When the allocated space is used up, the file is extended by another
// step, as a journal grows its segment.
type space struct {
	f    *os.File
	step int64

	next  atomic.Int64 // the offset the next reservation starts at
	alloc atomic.Int64 // bytes allocated and synced
	mu    sync.Mutex   // one grow at a time
}

func openSpace(path string, step int64) (*space, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	s := &space{f: f, step: step}
	if err := s.grow(step); err != nil {
		f.Close()
		return nil, err
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// reserve returns the offset where n bytes go, growing the file first if
// they would end past its allocated space.
func (s *space) reserve(n int64) (int64, error) {
	end := s.next.Add(n)
	if end > s.alloc.Load() {
		if err := s.grow(end); err != nil {
			return 0, err
		}
	}
	return end - n, nil
}

// grow allocates whole steps until at least end bytes are allocated, and
// syncs the file so that its new size is durable before any write into it
// is acknowledged.
func (s *space) grow(end int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.alloc.Load()
	if end <= a {
		return nil
	}
	for a < end {
		a += s.step
	}
	if err := vfs.Allocate(s.f, a); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	s.alloc.Store(a)
	return nil
}

// Append writes p at the next offset and flushes it.
func (r *RawAppender) Append(p []byte) error {
	off, err := r.s.reserve(int64(len(p)))
	if err != nil {
		return err
	}
	if _, err := r.s.f.WriteAt(p, off); err != nil {
		return err
	}
	return vfs.Datasync(r.s.f)
}

// Close closes the file.
func (r *RawAppender) Close() error { return r.s.f.Close() }

// GroupAppender is the group-commit floor: concurrent appenders share one
// write and one fdatasync of a preallocated file. The first caller to find
// no flush running writes every record queued so far and flushes it; the
// others wait, and each returns once a flush that began after its record
// was queued has returned. Nothing else: no framing, checksum, lock or
// tree. It is what a journal with group commit cannot beat, where
// RawAppender (one flush per writer) is what it beats by batching.
type GroupAppender struct {
	s *space

	// ZeroAhead makes a flush of 4 KiB or more first write zeros past
	// its end, in steps that double from 16 KiB to 1 MiB within the
	// allocated space, as the journal does (journal/commit.go,
	// zeroAhead): later flushes then land in written blocks and commit no
	// extent conversion. Set it before the first Append. Without it the
	// floor writes into fallocated space only, as the journal used to.
	ZeroAhead bool
	zeroed    int64 // the end of the zeros written so far
	zeroStep  int64
	zeros     []byte

	mu      sync.Mutex
	cond    *sync.Cond
	pending []byte // queued, not yet written
	spare   []byte
	queued  uint64 // records queued so far
	synced  uint64 // records covered by a finished flush
	busy    bool   // a leader is writing and flushing
	err     error  // the first failed flush fails everyone after it
}

// NewGroupAppender preallocates size bytes in dir/group-floor, and more
// when they are used up, as NewRawAppender does.
func NewGroupAppender(dir string, size int64) (*GroupAppender, error) {
	s, err := openSpace(filepath.Join(dir, "group-floor"), size)
	if err != nil {
		return nil, err
	}
	g := &GroupAppender{s: s}
	g.cond = sync.NewCond(&g.mu)
	return g, nil
}

// Append queues p and returns once a flush covering it has returned.
func (g *GroupAppender) Append(p []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pending = append(g.pending, p...)
	g.queued++
	mine := g.queued
	for g.synced < mine && g.err == nil {
		if g.busy {
			g.cond.Wait()
			continue
		}
		g.busy = true
		batch, upto := g.pending, g.queued
		g.pending = g.spare[:0]
		g.mu.Unlock()
		off, err := g.s.reserve(int64(len(batch)))
		if err == nil && g.ZeroAhead {
			err = g.zeroAhead(off, off+int64(len(batch)))
		}
		if err == nil {
			_, err = g.s.f.WriteAt(batch, off)
		}
		if err == nil {
			err = vfs.Datasync(g.s.f)
		}
		g.mu.Lock()
		g.spare = batch
		g.busy = false
		if err != nil {
			g.err = err
		} else {
			g.synced = upto
		}
		g.cond.Broadcast()
	}
	if g.synced >= mine {
		return nil // covered by a flush that returned, whatever failed later
	}
	return g.err
}

// zeroAhead writes zeros from the batch at [from, end) on, the journal's
// rule: only for a batch of 4 KiB or more, only where no zeros are yet,
// and never past the allocated space. Only the leader calls it.
func (g *GroupAppender) zeroAhead(from, end int64) error {
	const minStep, maxStep, minBatch = 16 << 10, 1 << 20, 4 << 10
	if end <= g.zeroed || end-from < minBatch {
		return nil
	}
	step := min(max(2*g.zeroStep, minStep), maxStep)
	to := min(g.s.alloc.Load(), end+step)
	if g.zeros == nil {
		g.zeros = make([]byte, 64<<10)
	}
	for off := max(g.zeroed, from); off < to; {
		z := g.zeros[:min(int64(len(g.zeros)), to-off)]
		n, err := g.s.f.WriteAt(z, off)
		if err != nil {
			return err
		}
		off += int64(n)
	}
	g.zeroed, g.zeroStep = max(g.zeroed, to), step
	return nil
}

// Close closes the file.
func (g *GroupAppender) Close() error { return g.s.f.Close() }
