package journal

import (
	"bytes"
	"errors"
	"hash/crc32"
)

// scanner walks the frames of one segment batch by batch. It accepts a
// batch only when its commit frame is intact and agrees with it: the index
// sequence, the count, the CRC over the batch's frames and, when it tracks
// the tree, the Merkle root.
type scanner struct {
	seg   *segment
	fr    *frameReader
	off   int64  // offset after the last accepted commit (or the header)
	next  uint64 // index after the last accepted record
	tree  compact
	track bool // check commit roots (needs tree to start right)
	keep  bool // keep the records of the last batch in recs
	recs  []Record
	// notes keeps only the records that are not TypeData (Verify).
	notes bool
	// hashes keeps the leaf hashes of the last batch in leaves.
	hashes bool
	leaves []Hash
	// watch lists tree sizes whose roots to capture in roots.
	watch map[uint64]bool
	roots map[uint64]Hash

	sealed bool // a seal was accepted at off-sealSize
}

func newScanner(seg *segment, track, keep bool) (*scanner, error) {
	s := &scanner{seg: seg, fr: newFrameReader(seg.f, seg.size), off: seg.hdr.length, next: seg.base, track: track, keep: keep}
	if track {
		t, err := newCompact(seg.base, seg.hdr.state)
		if err != nil {
			return nil, corruptAt(seg.path, 0, "%v", err)
		}
		s.tree = t
	}
	return s, nil
}

type stepKind int

const (
	stepBatch  stepKind = iota // a batch was accepted
	stepSeal                   // the segment's seal was accepted
	stepEnd                    // zeros at off: nothing more was written
	stepDamage                 // see the damage returned
)

var errSequence = errors.New("frame out of sequence")

// frameAt decodes the frame at off. errZero means the end of the written
// data (a zero length, or the end of the file).
func (s *scanner) frameAt(off int64) (frame, error) {
	avail := s.seg.size - off
	if avail <= 0 {
		return frame{}, errZero
	}
	buf, err := s.fr.read(off, frameHeader)
	if err != nil {
		return frame{}, err
	}
	for {
		f, need, derr := decodeFrame(buf, avail)
		if derr != nil || need == 0 {
			return f, derr
		}
		if buf, err = s.fr.read(off, need); err != nil {
			return frame{}, err
		}
		if int64(len(buf)) < need {
			return frame{}, errShort
		}
	}
}

func isFrameErr(err error) bool {
	for _, e := range []error{errZero, errShort, errFrameCRC, errFrameForm, errFrameLen, errUnknownTyp} {
		if err == e {
			return true
		}
	}
	return false
}

// step reads the next batch, or the seal, from off.
func (s *scanner) step() (stepKind, *damage, error) {
	pos := s.off
	var crc uint32
	var work compact
	if s.track {
		work = s.tree.clone()
	}
	count := uint64(0)
	s.recs = s.recs[:0]
	s.leaves = s.leaves[:0]
	var seen map[uint64]Hash
	for {
		f, err := s.frameAt(pos)
		if err != nil {
			if !isFrameErr(err) {
				return 0, nil, err
			}
			if err == errZero && pos == s.off {
				return stepEnd, nil, nil
			}
			return stepDamage, corruptAt(s.seg.path, pos, "%v", err), nil
		}
		switch {
		case f.typ.isRecord():
			if f.index != s.next+count {
				return stepDamage, tamperedAt(s.seg.path, pos, "%v: record index %d, want %d", errSequence, f.index, s.next+count), nil
			}
			if s.track || s.hashes {
				lh := leafHash(f.leaf())
				if s.track {
					work.push(lh)
					if s.watch[work.size] {
						if seen == nil {
							seen = map[uint64]Hash{}
						}
						seen[work.size] = work.root()
					}
				}
				if s.hashes {
					s.leaves = append(s.leaves, lh)
				}
			}
			if s.keep || s.notes && f.typ != TypeData {
				s.recs = append(s.recs, recordOf(&f))
			}
			crc = crc32.Update(crc, castagnoli, f.raw)
			count++
		case f.typ == typeCommit:
			c := decodeCommit(f.body)
			switch {
			case count == 0:
				return stepDamage, tamperedAt(s.seg.path, pos, "commit frame closes no records"), nil
			case f.index != s.next || c.count != count:
				return stepDamage, tamperedAt(s.seg.path, pos, "commit frame covers %d records from %d, the batch has %d from %d", c.count, f.index, count, s.next), nil
			case c.crc != maskCRC(crc):
				return stepDamage, tamperedAt(s.seg.path, pos, "batch checksum in the commit frame does not match the batch"), nil
			case s.track && work.root() != c.root:
				return stepDamage, tamperedAt(s.seg.path, pos, "Merkle root in the commit frame does not match the records (tree size %d)", s.next+count), nil
			}
			s.off = pos + f.size()
			s.next += count
			if s.track {
				s.tree = work
			}
			for k, v := range seen {
				if s.roots == nil {
					s.roots = map[uint64]Hash{}
				}
				s.roots[k] = v
			}
			return stepBatch, nil, nil
		case f.typ == typeSeal:
			if count != 0 {
				return stepDamage, tamperedAt(s.seg.path, pos, "seal inside a batch"), nil
			}
			if f.index != s.next {
				return stepDamage, tamperedAt(s.seg.path, pos, "seal says the next segment starts at %d, want %d", f.index, s.next), nil
			}
			if s.next == s.seg.base {
				// The next segment would have this one's name: the
				// leftover of a rotation that failed (classifyTail).
				return stepDamage, corruptAt(s.seg.path, pos, "seal in a segment that holds no records"), nil
			}
			s.off = pos + f.size()
			s.sealed = true
			return stepSeal, nil, nil
		}
		pos += f.size()
	}
}

// run steps until the end, a seal or damage.
func (s *scanner) run() (stepKind, *damage, error) {
	for {
		k, d, err := s.step()
		if err != nil || k != stepBatch {
			return k, d, err
		}
	}
}

// tail describes what lies after the last accepted commit of a segment.
type tail struct {
	start int64 // the last accepted commit's end
	end   int64 // after the last non-zero byte, 8-aligned; start if clean
}

// classifyTail decides whether what follows s.off (where d, if not nil,
// was found) is a torn tail, which a crash can leave and recovery cuts, or
// damage to data that was acknowledged. A crash leaves the batches written
// since the last flush after the last commit: one, or a chain of them when
// each was written while those before it were not known to be flushed (a
// batch after an unflushed one of the same process, or processes sharing
// a flush), any part of any of them missing or zero (a power cut can write
// their pages in any order). So the tail is torn when every intact frame
// in it belongs to such a chain: records from index s.next on, a first
// commit at s.next, then batches whose commits say that they followed an
// unflushed batch, at or after the index where the one before ended.
// An intact frame that cannot belong there (a seal, a commit that does not
// say so, a record or commit before its place) means the damage is inside
// the log, not at its end. (Damage after the flush that happens to take
// one of these shapes is cut too: FORMAT.md, "Recovery", names the price.)
func (s *scanner) classifyTail(d *damage) (tail, *damage, error) {
	t := tail{start: s.off, end: s.off}
	if d != nil && d.tampered {
		return t, d, nil
	}
	at := s.off // where the damage begins: zeros at s.off, unless d says
	if d != nil {
		at = d.off
	}
	commits := 0
	second := uint64(0) // where the next batch starts, once known
	closed := false     // a commit that ends the tail was seen
	intact := false     // an intact record or commit frame was seen
	after := false      // ... after the damage
	pos := s.off
	for pos < s.seg.size {
		nz, err := s.firstNonZero(pos)
		if err != nil {
			return t, nil, err
		}
		if nz >= s.seg.size {
			break
		}
		pos = nz &^ 7
		buf, err := s.fr.read(pos, frameHeader)
		if err != nil {
			return t, nil, err
		}
		t.end = align8(pos + int64(len(buf)))
		if d == nil {
			d = corruptAt(s.seg.path, pos, "data after the end of the log")
		}
		f, ferr := s.frameAt(pos)
		if ferr != nil {
			if !isFrameErr(ferr) {
				return t, nil, ferr
			}
			// Not a frame: skip to the next 8-byte boundary, noting the
			// last non-zero byte.
			for i := len(buf) - 1; i >= 0; i-- {
				if buf[i] != 0 {
					t.end = align8(pos + int64(i) + 1)
					break
				}
			}
			pos += 8
			continue
		}
		t.end = pos + f.size()
		ok := !closed
		switch {
		case f.typ.isRecord():
			ok = ok && f.index >= max(s.next, second)
			intact, after = true, after || pos > d.off
		case f.typ == typeCommit:
			c := decodeCommit(f.body)
			flagged := c.flags&commitAfterUnflushed != 0
			if commits > 0 || f.index != s.next {
				// A later batch of the chain (the commits of those
				// between may be lost): it was written while the
				// batches before it were not known to be flushed.
				ok = ok && flagged && f.index >= max(s.next, second)
			}
			second = f.index + c.count
			commits++
			intact, after = true, after || pos > d.off
		case f.typ == typeSeal:
			// A seal in a segment that holds no records cannot be
			// followed; earlier releases wrote one when a record did
			// not fit there, then failed. Nothing was acknowledged.
			ok = ok && commits == 0 && s.next == s.seg.base && f.index == s.next
			closed = true
		default:
			ok = false
		}
		if !ok {
			return t, corruptAt(s.seg.path, d.off, "%v, yet intact frames follow at offset %d: the damage is inside the log, not a torn tail", d.err, pos), nil
		}
		pos += f.size()
	}
	if intact && d != nil {
		// Intact frames of a batch in the tail: it was written, and
		// maybe flushed and acknowledged. Only what a crash leaves may
		// be cut: a sector that never reached the disk reads as zeros,
		// and a write cut short leaves zeros to its end.
		crash, err := s.crashLeft(at, t.end, after)
		if err != nil {
			return t, nil, err
		}
		if !crash {
			return t, corruptAt(s.seg.path, d.off, "%v inside a batch whose other frames are intact, and not what a crash leaves (no sector of it reads as zeros): corruption, not a torn tail", d.err), nil
		}
	}
	return t, nil, nil
}

var zeroBlock [4096]byte

// firstNonZero returns the offset of the first non-zero byte at or after
// pos, or the segment size.
func (s *scanner) firstNonZero(pos int64) (int64, error) {
	for pos < s.seg.size {
		buf, err := s.fr.read(pos, readChunk)
		if err != nil {
			return 0, err
		}
		if len(buf) == 0 {
			return s.seg.size, nil
		}
		for len(buf) > 0 {
			n := min(len(buf), len(zeroBlock))
			if !bytes.Equal(buf[:n], zeroBlock[:n]) {
				for i, b := range buf[:n] {
					if b != 0 {
						return pos + int64(i), nil
					}
				}
			}
			buf = buf[n:]
			pos += int64(n)
		}
	}
	return s.seg.size, nil
}
