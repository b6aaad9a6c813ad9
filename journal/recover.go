package journal

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/vfs"
)

// syncState brings the in-memory state up to date with the directory:
// records other processes appended, segments they created or dropped, and
// the recovery of a tail a crashed writer left.
func (j *Journal) syncState() error { return j.catchUp(false) }

// catchUp is syncState for a writer that takes the lock. When the last
// catch-up found other processes' records (others), they most likely
// wrote again while this process waited for the lock: the catch-up then
// reads straight at the log's end, without the 4-byte peek that tells a
// lone writer nobody else wrote (one system call less at every turn of
// the lock that processes take in turn).
func (j *Journal) catchUp(others bool) error {
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
	if others {
		return j.scanFrom(false)
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
		}, j.o.firstAlloc)
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
	j.zeroed, j.zeroStep = 0, 0
	j.end = seg.hdr.length
	j.next = seg.base
	j.tree = t
	j.sealed = false
	j.behind = false // the segment before was flushed when it was sealed
	j.size.Store(j.next)
}

// scanFrom scans the last segment from end, accepting the batches others
// committed, following seals into later segments, and recovering a torn
// tail. full also checks that nothing but zeros lies after the last
// commit, which a power cut can make necessary.
func (j *Journal) scanFrom(full bool) error {
	for {
		// Another process may have grown the segment. A catch-up asks
		// only when the scan ran into the size it knew (below).
		if full {
			if err := j.seg.refresh(); err != nil {
				return err
			}
		}
		s := &scanner{seg: j.seg, fr: newFrameReader(j.seg.f, j.seg.size), off: j.end, next: j.next, tree: j.tree.clone(), track: true}
		if !full {
			s.fr.chunk = catchUpChunk
			s.fr.buf = j.catchBuf[:0]
		}
		k, d, err := s.run()
		if !full && cap(s.fr.buf) <= catchUpChunk {
			j.catchBuf = s.fr.buf[:0] // read into again by the next catch-up
		}
		if err != nil {
			return err
		}
		if !full && !(k == stepSeal || k == stepEnd && s.off+frameHeader <= j.seg.size) {
			// The scan stopped at the size this process knew, or at
			// something it could not accept, which may be a frame that
			// goes on past that size: if the segment has grown since,
			// the scan starts again with its new size, as a scan that
			// asked first would have.
			size := j.seg.size
			if err := j.seg.refresh(); err != nil {
				return err
			}
			if j.seg.size != size {
				continue
			}
		}
		if !full && k == stepEnd && s.off == j.end {
			return nil // nobody wrote after us
		}
		if s.off != j.end {
			j.othersWrote = true
		}
		if s.off != j.end && !j.o.ReadOnly {
			// Another process wrote this, and may have died before its
			// flush: make it durable before anything relies on it,
			// unless the flush mark says its writer flushed it, or the
			// batch about to be written shares a flush, which covers it
			// (and says in its commit frame that it follows records not
			// known to be flushed).
			switch {
			case !full && j.markSays(j.seg.base, s.off):
			case !full && j.deferCatchUp:
				j.behind = true
			default:
				if err := vfs.Datasync(j.seg.f); err != nil {
					return err
				}
				j.unflushed, j.behind = false, false // the flush covered our batches too
			}
		}
		j.end, j.next, j.tree = s.off, s.next, s.tree
		j.size.Store(j.next)
		if k != stepSeal {
			j.remember()
		}
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
		return j.newSegment(j.o.SegmentSize, j.o.firstAlloc)
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
	if err := j.clearMarks(); err != nil {
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
