package journal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"strings"

	"github.com/durable-go/durable/internal/sidecar"
)

// Telling a torn tail from corruption. classifyTail knows the shape of
// what follows the last accepted commit; when that holds intact frames of
// a batch, which may have been flushed and acknowledged, the damage must
// also look like what a crash leaves, or it is corruption: a crash loses
// whole sectors, which read as they were before (zeros, in the
// preallocated space after the last commit), or cuts a write short, which
// leaves zeros from some byte to the write's end. One changed byte does
// neither.

// sectorSize is the smallest unit a disk writes whole.
const sectorSize = 512

// minHole is the shortest run of zeros taken for a sector written in part.
// A frame has runs of up to 7 zero bytes of its own (the high bytes of a
// small index, the bytes after the type), which one byte set to zero can
// lengthen to 8 or 9, never to 16.
const minHole = 16

// crashLeft reports whether the damaged frame at p could be what a crash
// leaves. after says whether intact frames follow it; end is the tail's
// 8-aligned end.
func (s *scanner) crashLeft(p, end int64, after bool) (bool, error) {
	head, err := s.fr.read(p, frameHeader)
	if err != nil {
		return false, err
	}
	head = bytes.Clone(head)
	if len(head) >= 8 && allZero(head[:8]) {
		// A zero length and checksum: a write that did not reach the
		// disk (one changed byte cannot make eight zeros).
		return true, nil
	}
	frameEnd := p + 8
	if len(head) >= 4 {
		if l := int64(binary.LittleEndian.Uint32(head)); l >= frameHeader && l <= maxFrame && p+l <= s.seg.size {
			frameEnd = p + align8(l)
		}
	}
	if !after {
		torn, err := s.cutShort(p, head, frameEnd, end)
		if err != nil || torn {
			return torn, err
		}
	}
	hole, err := s.holeIn(p, frameEnd, end)
	if err != nil || hole {
		return hole, err
	}
	return s.cutInterrupted(end)
}

// holeIn reports whether zeros that a lost or half-written sector leaves
// reach into the frame [p, frameEnd): a run of at least minHole zero bytes
// (the tail's, from s.off on) that ends at a sector boundary with data
// after it. A sector whose write was lost reads as zeros (the preallocated
// space's old contents); one that the disk took while the page was still
// being copied into holds the first bytes and zeros to its end.
func (s *scanner) holeIn(p, frameEnd, end int64) (bool, error) {
	for b := (p + sectorSize) &^ (sectorSize - 1); b < end && b <= frameEnd+4096; b += sectorSize {
		buf, err := s.fr.read(b-minHole, minHole)
		if err != nil {
			return false, err
		}
		if len(buf) < minHole || !allZero(buf) {
			continue
		}
		// Where does the run of zeros that ends at b begin?
		z := b - minHole
		for z > s.off && z >= frameEnd {
			lo := max(s.off, z-sectorSize)
			buf, err := s.fr.read(lo, z-lo)
			if err != nil {
				return false, err
			}
			i := len(buf)
			for i > 0 && buf[i-1] == 0 {
				i--
			}
			z = lo + int64(i)
			if i > 0 {
				break
			}
		}
		if z < frameEnd {
			return true, nil
		}
	}
	return false, nil
}

// cutShort reports whether the frame at p, the last non-zero data of the
// tail, is a write cut short: what it holds is what it was meant to hold,
// then zeros to its end. For a commit frame that is checked byte by byte
// against the commit the records before it call for; for a record, the
// last byte of its body must be zero.
func (s *scanner) cutShort(p int64, head []byte, frameEnd, end int64) (bool, error) {
	buf, err := s.fr.read(end-8, 8)
	if err != nil {
		return false, err
	}
	last := end - 1 // the last non-zero byte of the tail
	for i := len(buf) - 1; i >= 0 && buf[i] == 0; i-- {
		last--
	}
	if last >= frameEnd {
		return false, nil
	}
	n := last + 1 - p // bytes of the frame before the zeros
	switch {
	case n <= 24 || len(head) < frameHeader:
		// Cut before the type: the length field must be one a frame
		// can have (or cut too).
		l := int64(binary.LittleEndian.Uint32(head))
		return n < 4 || l >= frameHeader && l <= maxFrame, nil
	case Type(head[24]).isRecord():
		l := int64(binary.LittleEndian.Uint32(head))
		return l >= frameHeader && last < p+l-1, nil
	case Type(head[24]) == typeCommit:
		return s.commitCutShort(p, n)
	}
	return false, nil
}

// commitCutShort checks a commit frame whose first n bytes are all that
// is left against the commit the records from s.off to p call for, with
// either value of its flags. Its time is not known, so its checksum is
// checked with the time it holds.
func (s *scanner) commitCutShort(p, n int64) (bool, error) {
	var count uint64
	var crc uint32
	tree := s.tree.clone()
	for pos := s.off; pos < p; {
		f, err := s.frameAt(pos)
		if err != nil || !f.typ.isRecord() || f.index != s.next+count {
			return false, nil
		}
		crc = crc32.Update(crc, castagnoli, f.raw)
		if s.track {
			tree.push(leafHash(f.leaf()))
		}
		count++
		pos += f.size()
	}
	got, err := s.fr.read(p, commitSize)
	if err != nil || int64(len(got)) < n {
		return false, err
	}
	got = bytes.Clone(got)
	t := int64(binary.LittleEndian.Uint64(got[16:]))
	for _, flags := range []uint32{0, commitAfterUnflushed} {
		info := commitInfo{count: count, crc: maskCRC(crc), flags: flags, root: tree.root()}
		want := appendFrame(nil, typeCommit, s.next, t, info.encode())
		ok := true
		for i := range n {
			switch {
			case !s.track && (i >= 48 || i >= 4 && i < 8):
				// The root, and the checksum that covers it: not
				// known without the tree (readers).
			default:
				ok = ok && got[i] == want[i]
			}
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// cutInterrupted reports whether the tail is a cut that a crash
// interrupted: recovery keeps the tail in the evidence directory before it
// overwrites it with zeros, so every byte of the tail is either zero or
// the byte the evidence holds.
func (s *scanner) cutInterrupted(end int64) (bool, error) {
	dir := filepath.Join(filepath.Dir(s.seg.path), evidenceDir)
	prefix := fmt.Sprintf("%s-%012d-", strings.TrimSuffix(segName(s.seg.base), segSuffix), s.off)
	ents, err := s.seg.fsys.ReadDir(dir)
	if err != nil {
		return false, nil
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) || !strings.HasSuffix(e.Name(), ".torn") || !e.Type().IsRegular() {
			continue
		}
		ev, err := sidecar.ReadFile(s.seg.fsys, filepath.Join(dir, e.Name()))
		if err != nil || int64(len(ev)) < end-s.off {
			continue
		}
		cur, err := s.fr.read(s.off, end-s.off)
		if err != nil {
			return false, err
		}
		ok := int64(len(cur)) == end-s.off
		for i := 0; ok && i < len(cur); i++ {
			ok = cur[i] == 0 || cur[i] == ev[i]
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}
