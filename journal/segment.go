package journal

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/durable-go/durable/internal/errs"
	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/vfs"
)

const (
	segSuffix      = ".seg"
	checkpointName = "checkpoint"
	evidenceDir    = "evidence"
	lockName       = "journal" // the lock is on journal.lock
	segPerm        = 0o600     // before the directory's sidecar permissions are given
)

func segName(base uint64) string { return fmt.Sprintf("%020d%s", base, segSuffix) }

func parseSegName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	b, err := strconv.ParseUint(s, 10, 64)
	return b, err == nil
}

// listSegments returns the bases of the segments in dir, in order.
func listSegments(fsys vfs.FS, dir string) ([]uint64, error) {
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bases []uint64
	for _, e := range ents {
		b, ok := parseSegName(e.Name())
		if !ok {
			continue
		}
		if !e.Type().IsRegular() {
			// Say what is there: a segment that is missing and one that
			// was replaced are different findings.
			return nil, tamperedAt(filepath.Join(dir, e.Name()), -1, "%s where a segment file should be: %w", describeType(e.Type()), errs.ErrUnsafeFile)
		}
		bases = append(bases, b)
	}
	slices.Sort(bases)
	return bases, nil
}

// chainStart returns where the chain of segments that ends with the last
// one begins: the index in bases of the oldest segment reached by
// following each header's previous base back from the last. Segments
// before it are not part of the log: the leftovers of a DropBefore whose
// removals reached the disk in another order than they were made, which a
// retention record in the chain must cover (Verify checks that). Links
// below bases[lo] are not followed: the answer is then lo or more.
func chainStart(fsys vfs.FS, dir string, bases []uint64, lo int) (int, error) {
	for i := len(bases) - 1; i > max(lo, 0); i-- {
		seg, err := openSegment(fsys, dir, bases[i], false)
		if err != nil {
			return 0, err
		}
		prev := seg.hdr.prevBase
		seg.close()
		if prev != bases[i-1] {
			return i, nil
		}
	}
	return max(lo, 0), nil
}

// lastDropBefore returns the index the latest retention record in the
// segments at bases says the log keeps records from.
func lastDropBefore(fsys vfs.FS, dir string, bases []uint64) (first uint64, ok bool, err error) {
	for _, b := range bases {
		seg, err := openSegment(fsys, dir, b, false)
		if err != nil {
			return 0, false, err
		}
		s, err := newScanner(seg, false, false)
		if err != nil {
			seg.close()
			return 0, false, err
		}
		s.notes = true
		for {
			k, _, err := s.step()
			if err != nil {
				seg.close()
				return 0, false, err
			}
			if k != stepBatch {
				break
			}
			for _, r := range s.recs {
				if n, isDrop := parseDropBefore(r); isDrop {
					first, ok = n, true
				}
			}
		}
		seg.close()
	}
	return first, ok, nil
}

// parseDropBefore reads the index a retention record keeps records from.
func parseDropBefore(r Record) (uint64, bool) {
	if r.Type != TypeRetention {
		return 0, false
	}
	f, ok := strings.CutPrefix(string(r.Payload), "drop-before ")
	if !ok {
		return 0, false
	}
	f, _, _ = strings.Cut(f, "\n")
	n, err := strconv.ParseUint(f, 10, 64)
	return n, err == nil
}

func describeType(t fs.FileMode) string {
	switch {
	case t.IsDir():
		return "a directory"
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeDevice != 0:
		return "a device"
	}
	return fmt.Sprintf("a file of type %v", t)
}

// segment is an open segment file.
type segment struct {
	fsys vfs.FS
	path string
	base uint64
	f    vfs.File
	hdr  *header
	size int64
}

func (s *segment) close() error {
	if s == nil || s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// openSegment opens the segment with this base and reads its header.
func openSegment(fsys vfs.FS, dir string, base uint64, write bool) (*segment, error) {
	path := filepath.Join(dir, segName(base))
	// Never through a link or into a FIFO someone put in the directory,
	// and never writing into a file that has another name elsewhere.
	var f vfs.File
	var err error
	if write {
		f, _, err = sidecar.OpenSingle(fsys, path, os.O_RDWR)
	} else {
		f, _, err = sidecar.Open(fsys, path, os.O_RDONLY)
	}
	if err != nil {
		return nil, err
	}
	s := &segment{fsys: fsys, path: path, base: base, f: f}
	if err := s.readHeader(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func (s *segment) readHeader() error {
	fi, err := s.f.Stat()
	if err != nil {
		return err
	}
	s.size = fi.Size()
	buf := make([]byte, hdrFixed)
	for {
		n, err := s.f.ReadAt(buf, 0)
		if n < len(buf) {
			if err == nil || errors.Is(err, io.EOF) {
				return corruptAt(s.path, 0, "segment header: file too short (%d bytes)", s.size)
			}
			return err
		}
		h, need, herr := decodeHeader(buf)
		if herr != nil {
			return corruptAt(s.path, 0, "segment header: %v", herr)
		}
		if h != nil {
			if h.base != s.base {
				return tamperedAt(s.path, 0, "segment header says base index %d, the file name %d", h.base, s.base)
			}
			if s.size%8 != 0 || s.size < h.length {
				return corruptAt(s.path, 0, "segment size %d is not a multiple of 8", s.size)
			}
			s.hdr = h
			return nil
		}
		buf = make([]byte, need)
	}
}

// capacity is the size the segment may grow to before the journal moves to
// the next one: the size its header was created with (the file is
// allocated in steps up to it, Journal.grow), or the file's size when that
// is larger (a segment that held no records, grown to fit its first one;
// a segment of an earlier release, preallocated whole).
func (s *segment) capacity() int64 { return max(s.hdr.size, s.size) }

// refresh learns the segment's size again: a segment grows as records fill
// it (Journal.grow), in this process or another.
func (s *segment) refresh() error {
	fi, err := s.f.Stat()
	if err != nil {
		return err
	}
	if n := fi.Size(); n > s.size && n%8 == 0 {
		s.size = n
	}
	return nil
}

// createSegment makes a new segment durable before anyone can see it: it
// is written under a temporary name, allocated to alloc bytes (at most the
// header's size, its capacity), fsynced, renamed into place, and the
// directory is fsynced. It gets the owner, group and
// permissions of a sidecar of the directory (see internal/sidecar), so
// that root appending to a user's journal leaves the user's files.
func createSegment(fsys vfs.FS, dir string, h *header, alloc int64) (*segment, error) {
	name := segName(h.base)
	path := filepath.Join(dir, name)
	tmp := filepath.Join(dir, "."+name+".tmp")
	attr, err := sidecar.Of(fsys, dir)
	if err != nil {
		return nil, err
	}
	if err := fsys.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	f, err := fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|vfs.O_NOFOLLOW, segPerm)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*segment, error) {
		f.Close()
		fsys.Remove(tmp)
		return nil, err
	}
	if err := sidecar.Adopt(f, attr); err != nil {
		return fail(err)
	}
	buf := h.encode()
	h.length = int64(len(buf))
	if n, err := f.WriteAt(buf, 0); err != nil {
		return fail(err)
	} else if n < len(buf) {
		return fail(&fs.PathError{Op: "write", Path: tmp, Err: io.ErrShortWrite})
	}
	alloc = min(h.size, max(alloc, (h.length+4095)&^4095))
	if err := vfs.Allocate(f, alloc); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if fi, err := fsys.Lstat(path); err == nil {
		err := error(fs.ErrExist)
		if !fi.Mode().IsRegular() {
			// Not a segment that another writer made: something
			// planted, which must not be mistaken for one.
			err = fmt.Errorf("%w: %w (%v)", errs.ErrUnsafeFile, fs.ErrExist, fi.Mode().Type())
		}
		return fail(&fs.PathError{Op: "create", Path: path, Err: err})
	}
	// Closed before the rename: Windows refuses to rename an open file.
	if err := f.Close(); err != nil {
		fsys.Remove(tmp)
		return nil, err
	}
	if err := vfs.RenameFile(fsys, tmp, path); err != nil {
		fsys.Remove(tmp)
		return nil, err
	}
	if !mutate.JournalSkipRotateDirSync {
		if err := fsys.SyncDir(dir); err != nil {
			// The segment is in place but may not survive a power cut;
			// nothing was written to it, and whoever uses it next fsyncs
			// the directory first.
			return nil, err
		}
	}
	if f, _, err = sidecar.OpenSingle(fsys, path, os.O_RDWR); err != nil {
		return nil, err
	}
	return &segment{fsys: fsys, path: path, base: h.base, f: f, hdr: h, size: alloc}, nil
}

// removeTemps removes temporary segment files a crash left behind.
func removeTemps(fsys vfs.FS, dir string) {
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		n := e.Name()
		if IsTempName(n) {
			fsys.Remove(filepath.Join(dir, n))
		}
	}
}

// frameReader reads a segment through a window, so that scanning costs
// few system calls and bounded memory.
type frameReader struct {
	r     io.ReaderAt
	size  int64
	buf   []byte
	off   int64
	chunk int64 // the next read's size; it doubles up to readChunk
}

const readChunk = 256 << 10

func newFrameReader(r io.ReaderAt, size int64) *frameReader {
	return &frameReader{r: r, size: size, chunk: readChunk}
}

// catchUpChunk is the first read of a writer catching up with what other
// processes appended since its last batch: usually a few batches, while a
// full window would read up to 256 KiB of the zeros after them at every
// turn of the lock.
const catchUpChunk = 8 << 10

// read returns the bytes [off, off+n), fewer at the end of the file. The
// slice is valid until the next call.
func (fr *frameReader) read(off, n int64) ([]byte, error) {
	n = min(n, fr.size-off)
	if n <= 0 {
		return nil, nil
	}
	if off >= fr.off && off+n <= fr.off+int64(len(fr.buf)) {
		return fr.buf[off-fr.off : off-fr.off+n], nil
	}
	want := min(max(n, fr.chunk), fr.size-off)
	fr.chunk = min(2*fr.chunk, readChunk)
	if int64(cap(fr.buf)) < want {
		fr.buf = make([]byte, want)
	}
	fr.buf = fr.buf[:want]
	m, err := fr.r.ReadAt(fr.buf, off)
	fr.buf = fr.buf[:m]
	fr.off = off
	if int64(m) < n {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return fr.buf, nil
	}
	return fr.buf[:n], nil
}

// invalidate drops the window, so that the next read sees what others
// have written since.
func (fr *frameReader) invalidate() { fr.buf = fr.buf[:0] }
