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
// not a group commit. It wraps around when the file is full, so its size
// and extents never change.
type RawAppender struct {
	f    *os.File
	size int64
	off  atomic.Int64
}

// NewRawAppender preallocates size bytes in dir/raw-floor the way the
// journal preallocates its segments (fallocate, then fsync of the file and
// of dir), so that every append only has to flush data.
func NewRawAppender(dir string, size int64) (*RawAppender, error) {
	f, err := openPrealloc(filepath.Join(dir, "raw-floor"), size)
	if err != nil {
		return nil, err
	}
	return &RawAppender{f: f, size: size}, nil
}

func openPrealloc(path string, size int64) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := vfs.Allocate(f, size); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// reserve returns the offset where n bytes go, wrapping around at size.
func reserve(off *atomic.Int64, size, n int64) int64 {
	end := off.Add(n)
	if end > size {
		off.Store(n)
		end = n
	}
	return end - n
}

// Append writes p at the next offset and flushes it.
func (r *RawAppender) Append(p []byte) error {
	if _, err := r.f.WriteAt(p, reserve(&r.off, r.size, int64(len(p)))); err != nil {
		return err
	}
	return vfs.Datasync(r.f)
}

// Close closes the file.
func (r *RawAppender) Close() error { return r.f.Close() }

// GroupAppender is the group-commit floor: concurrent appenders share one
// write and one fdatasync of a preallocated file. The first caller to find
// no flush running writes every record queued so far and flushes it; the
// others wait, and each returns once a flush that began after its record
// was queued has returned. Nothing else: no framing, checksum, lock or
// tree. It is what a journal with group commit cannot beat, where
// RawAppender (one flush per writer) is what it beats by batching.
type GroupAppender struct {
	f    *os.File
	size int64

	mu      sync.Mutex
	cond    *sync.Cond
	pending []byte // queued, not yet written
	spare   []byte
	queued  uint64 // records queued so far
	synced  uint64 // records covered by a finished flush
	busy    bool   // a leader is writing and flushing
	off     int64
	err     error // the first failed flush fails everyone after it
}

// NewGroupAppender preallocates size bytes in dir/group-floor, as
// NewRawAppender does.
func NewGroupAppender(dir string, size int64) (*GroupAppender, error) {
	f, err := openPrealloc(filepath.Join(dir, "group-floor"), size)
	if err != nil {
		return nil, err
	}
	g := &GroupAppender{f: f, size: size}
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
		off := g.off
		if off+int64(len(batch)) > g.size {
			off = 0
		}
		g.off = off + int64(len(batch))
		g.mu.Unlock()
		_, err := g.f.WriteAt(batch, off)
		if err == nil {
			err = vfs.Datasync(g.f)
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

// Close closes the file.
func (g *GroupAppender) Close() error { return g.f.Close() }
