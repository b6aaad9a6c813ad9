package journal

// Scan's shortcut. A reader finds the segment that holds its first record
// by listing the directory, and then walks that segment from its header:
// the queue, which catches up with what other processes appended at each
// turn of the lock, paid for every record of the segment at every turn
// (issue 23: 4 processes got a fifth of one process's rate). A journal
// remembers where the last batches it wrote or caught up with end; a
// reader whose first record lies at or after one of those places opens
// that segment by name and starts there.
//
// A place is only a hint. The segment must still carry this log's id, an
// intact commit frame must end right at the place and close the records
// before its index, and the first step from there must not find damage;
// anything else (a segment dropped, or cut by recovery after a power cut
// the hint outlived) sends the reader down the plain path.

// place is a batch boundary: records from index on start at off in the
// segment whose first record is base.
type place struct {
	logID [16]byte
	base  uint64
	index uint64
	off   int64
}

const places = 4

// remember records the current end of the log as a place; j.mu is held.
func (j *Journal) rememberLocked() {
	if j.seg == nil {
		return
	}
	p := place{logID: j.logID, base: j.seg.base, index: j.next, off: j.end}
	if j.nplaces > 0 && j.places[(j.nplaces-1)%places] == p {
		return
	}
	j.places[j.nplaces%places] = p
	j.nplaces++
}

// remember is rememberLocked for a run that does not hold j.mu.
func (j *Journal) remember() {
	j.mu.Lock()
	j.rememberLocked()
	j.mu.Unlock()
}

// placeFor returns the latest place at or before index from, if any.
func (j *Journal) placeFor(from uint64) (place, bool) {
	if j.noPlaces {
		return place{}, false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var best place
	ok := false
	for k := range min(j.nplaces, places) {
		p := j.places[k]
		if p.index <= from && (!ok || p.index > best.index) {
			best, ok = p, true
		}
	}
	return best, ok
}

// scanFromPlace opens the segment of p (or reads through the writer's,
// when it is that one) and returns a scanner positioned there, or nil when
// the place cannot be trusted (see above).
func (r *reader) scanFromPlace(p place) *scanner {
	seg := r.own
	if seg == nil || seg.base != p.base {
		var err error
		if seg, err = openSegment(r.j.fs, r.j.dir, p.base, false); err != nil {
			return nil
		}
	}
	r.seg = seg
	if seg.hdr.logID != p.logID || p.off < seg.hdr.length || p.off > seg.size {
		r.closeSeg()
		return nil
	}
	s := &scanner{seg: seg, fr: newFrameReader(seg.f, seg.size), off: p.off, next: p.index, keep: true}
	s.fr.chunk = catchUpChunk
	if p.off == seg.hdr.length && p.index != seg.base || p.off > seg.hdr.length && !s.commitEndsAt(p.off, p.index) {
		r.closeSeg()
		return nil
	}
	return s
}

// commitEndsAt reports whether an intact commit frame ends at off and
// closes a batch that ends before index: the place is a batch boundary of
// the log as it is now, not of one recovery has since cut and rewritten.
func (s *scanner) commitEndsAt(off int64, index uint64) bool {
	f, err := s.frameAt(off - commitSize)
	if err != nil || f.typ != typeCommit || f.size() != commitSize {
		return false
	}
	return f.index+decodeCommit(f.body).count == index
}
