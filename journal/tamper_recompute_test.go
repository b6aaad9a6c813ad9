package journal

import (
	"errors"
	"hash/crc32"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// An attacker without the key who knows the format: after changing
// records or headers, every checksum the files hold is recomputed — frame
// CRCs, batch CRCs, commit roots, header CRCs — so that only the chain of
// segments, the Merkle state carried from one to the next, and the
// checkpoint can tell.

// reseal recomputes every checksum and root of the segment d in place,
// from its header's Merkle state on.
func reseal(t *testing.T, d []byte) {
	t.Helper()
	h, _, err := decodeHeader(d)
	if err != nil || h == nil {
		t.Fatalf("header: %v", err)
	}
	copy(d, h.encode())
	tree, err := newCompact(h.base, h.state)
	if err != nil {
		t.Fatal(err)
	}
	var crc uint32
	var count uint64
	for off := h.length; off+4 <= int64(len(d)); {
		length := int64(d[off]) | int64(d[off+1])<<8 | int64(d[off+2])<<16 | int64(d[off+3])<<24
		if length == 0 {
			return
		}
		raw := d[off : off+align8(length)]
		switch Type(raw[24]) {
		case typeCommit:
			c := decodeCommit(raw[frameHeader:length])
			c.count, c.crc, c.root = count, maskCRC(crc), tree.root()
			copy(raw[frameHeader:], c.encode())
			put32(raw[4:], frameCRC(raw[:length]))
			crc, count = 0, 0
		case typeSeal:
			put32(raw[4:], frameCRC(raw[:length]))
		default:
			put32(raw[4:], frameCRC(raw[:length]))
			tree.push(leafHash(raw[8:length]))
			crc = crc32.Update(crc, castagnoli, raw)
			count++
		}
		off += int64(len(raw))
	}
}

func TestTamperingWithEveryChecksumRecomputed(t *testing.T) {
	f := newFixture(t)
	segs := segPaths(t, f.m)
	last := segs[len(segs)-1]
	patchHeader := func(m *vfs.MemFS, p string, fn func(h *header)) {
		d := readF(t, m, p)
		h, _, err := decodeHeader(d)
		if err != nil {
			t.Fatal(err)
		}
		fn(h)
		copy(d, h.encode())
		writeF(t, m, p, d)
	}
	for _, a := range []struct {
		name   string
		want   error
		needCP bool // without the stored checkpoint it goes unnoticed
		do     func(m *vfs.MemFS)
	}{
		{"alter a record of the last segment", ErrTampered, true, func(m *vfs.MemFS) {
			d := readF(t, m, last)
			offs := frameOffsets(d)
			d[offs[0]+frameHeader] ^= 1
			reseal(t, d)
			writeF(t, m, last, d)
		}},
		{"alter a record of the first segment", ErrTampered, false, func(m *vfs.MemFS) {
			d := readF(t, m, segs[0])
			offs := frameOffsets(d)
			d[offs[2]+frameHeader] ^= 1
			reseal(t, d)
			writeF(t, m, segs[0], d)
		}},
		{"alter a record and patch the next segment's Merkle state", ErrTampered, false, func(m *vfs.MemFS) {
			d := readF(t, m, segs[0])
			offs := frameOffsets(d)
			d[offs[2]+frameHeader] ^= 1
			reseal(t, d)
			writeF(t, m, segs[0], d)
			h, _, _ := decodeHeader(d)
			tree, _ := newCompact(h.base, h.state)
			for _, o := range frameOffsets(d) {
				fr, _, _ := decodeFrame(d[o:], int64(len(d))-o)
				if fr.typ.isRecord() {
					tree.push(leafHash(fr.leaf()))
				}
			}
			patchHeader(m, segs[1], func(h *header) { h.state = tree.hashes })
			// The segments after it carry the old state on: the
			// attacker reseals them all from the patched one.
			for _, p := range segs[1:] {
				d := readF(t, m, p)
				reseal(t, d)
				writeF(t, m, p, d)
			}
		}},
		{"delete a middle segment, patch the next one's previous base", ErrTampered, false, func(m *vfs.MemFS) {
			m.Remove(segs[1])
			patchHeader(m, segs[2], func(h *header) { h.prevBase, _ = parseSegName(filepath.Base(segs[0])) })
		}},
		{"patch a header's Merkle state", ErrTampered, false, func(m *vfs.MemFS) {
			patchHeader(m, segs[1], func(h *header) { h.state[0][0] ^= 1 })
		}},
		{"give every segment another log id", ErrTampered, true, func(m *vfs.MemFS) {
			for _, p := range segs {
				patchHeader(m, p, func(h *header) { h.logID[0] ^= 1 })
			}
		}},
		{"make the last batch look torn: zero a sector of it", ErrCorrupt, true, func(m *vfs.MemFS) {
			d := readF(t, m, last)
			offs := frameOffsets(d)
			b := (offs[len(offs)-2] + sectorSize - 1) &^ (sectorSize - 1)
			if b >= offs[len(offs)-1] {
				b = offs[len(offs)-2] &^ (sectorSize - 1)
			}
			clear(d[max(b, offs[len(offs)-2]):min(b+sectorSize, offs[len(offs)-1]+commitSize)])
			writeF(t, m, last, d)
		}},
	} {
		t.Run(strings.ReplaceAll(a.name, " ", "_"), func(t *testing.T) {
			m := f.copy()
			a.do(m)
			rep, err := f.verify(m, nil)
			if !errors.Is(err, a.want) {
				t.Fatalf("Verify: %v, want %v\nreport %+v", err, a.want, rep)
			}
			t.Logf("caught: %v", err)
			m.SyncAll()
			before := m.Dump()
			if j, err := Open(tamperDir, &Options{FS: m, SegmentSize: 4096}); err == nil {
				// The writer checks the chain and the last segment, not
				// the tree: Verify is what catches the rest. It must not
				// have cut anything.
				j.Close()
				if a.want == ErrCorrupt {
					t.Errorf("Open accepted what Verify calls corrupt")
				}
			} else if after := m.Dump(); after != before {
				t.Errorf("a refused Open changed the directory:\n%s\nwas\n%s", after, before)
			}
			m.Remove(filepath.Join(tamperDir, checkpointName))
			_, err = Verify(bg, tamperDir, &VerifyOptions{FS: m})
			if a.needCP && err != nil {
				t.Errorf("without a checkpoint this should go unnoticed (FORMAT.md says what the checkpoint is for): %v", err)
			}
			if !a.needCP && err == nil {
				t.Errorf("without a checkpoint this went unnoticed")
			}
		})
	}
}
