package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
)

// The raw sequences are the floors: what a durable replace and a durable
// append cost when nothing is added to the system calls that make them
// durable. They are written out here, not imported from durable's
// internal/bench, because another module cannot import internal packages.

// rawReplacer returns the minimal durable replace: open a fresh temp file
// O_EXCL beside the target, write, fsync, close, rename over the target,
// fsync the directory. It is not safe for concurrent use (the temp names
// come from a plain counter).
func rawReplacer() func(path string, data []byte) error {
	var n int
	return func(path string, data []byte) error {
		n++
		tmp := fmt.Sprintf("%s.%d.tmp", path, n)
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
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
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
		return syncDir(filepath.Dir(path))
	}
}

// syncDir fsyncs a directory, making the entries created or renamed in it
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// rawAppendSize is how much the raw appender preallocates: far more than a
// run writes, so appends never grow the file. It wraps around if it fills.
const rawAppendSize = 64 << 20

// rawAppender writes records at reserved offsets of a preallocated file and
// flushes each with fdatasync: the cost of an append when the file's size
// and extents never change, with no framing, checksum or lock. Concurrent
// callers each reserve an offset and flush on their own; any sharing of a
// flush is the kernel's doing, not a group commit.
type rawAppender struct {
	f   *os.File
	off atomic.Int64
}

func openRawAppender(path string) (*rawAppender, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err := preallocate(f, rawAppendSize); err != nil {
		f.Close()
		return nil, err
	}
	// The file and its directory entry are made durable once, so that
	// every later append only has to flush data.
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, err
	}
	return &rawAppender{f: f}, nil
}

func (r *rawAppender) append(p []byte) error {
	end := r.off.Add(int64(len(p)))
	if end > rawAppendSize {
		r.off.Store(int64(len(p)))
		end = int64(len(p))
	}
	if _, err := r.f.WriteAt(p, end-int64(len(p))); err != nil {
		return err
	}
	return datasync(r.f)
}

func (r *rawAppender) close() error { return r.f.Close() }

// payload returns size bytes of printable filler.
func payload(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// zeroFill writes size zero bytes at the start of f.
func zeroFill(f *os.File, size int64) error {
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		n := min(int64(len(buf)), size-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return err
		}
	}
	return nil
}
