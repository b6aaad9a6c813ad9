package journal

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// One changed byte anywhere in the last committed batch is corruption, not
// a torn tail: Verify says so, Open refuses, and nothing is cut — with or
// without a checkpoint above it.
func TestFlippedByteInLastBatchIsNotCut(t *testing.T) {
	for _, batch := range []int{1, 3} {
		for _, withCp := range []bool{false, true} {
			t.Run(fmt.Sprintf("batch of %d, checkpoint %v", batch, withCp), func(t *testing.T) {
				f := newFixture(t)
				m := f.copy()
				j := mustOpen(t, tamperDir, &Options{FS: m, SegmentSize: 4096})
				start := j.end
				var ps [][]byte
				for k := range batch {
					ps = append(ps, payload(100+k))
				}
				if _, err := j.AppendBatch(bg, ps); err != nil {
					t.Fatal(err)
				}
				end, path := j.end, j.seg.path
				if withCp {
					if _, err := j.Checkpoint(bg, f.signer); err != nil {
						t.Fatal(err)
					}
				}
				j.Close()
				m.SyncAll()
				orig := readF(t, m, path)
				for off := start; off < end; off++ {
					// Flips, and a byte set to zero or to 0xff.
					for _, bit := range []byte{0x01, 0x80, orig[off], ^orig[off]} {
						if bit == 0 {
							continue
						}
						d := bytes.Clone(orig)
						d[off] ^= bit
						if d[off] == 0 && allZero(d[off:end]) {
							// The last bytes of the commit frame read as
							// zeros: that is a write cut short, the commit
							// not whole (the price FORMAT.md names).
							continue
						}
						c := m.Crash(1)
						writeF(t, c, path, d)
						rep, err := Verify(bg, tamperDir, &VerifyOptions{FS: c})
						if !errors.Is(err, ErrCorrupt) || rep.Torn != nil {
							t.Fatalf("byte %d^%#x: Verify = %v, torn %+v; want corruption", off-start, bit, err, rep.Torn)
						}
						if _, err := Open(tamperDir, &Options{FS: c, SegmentSize: 4096}); !errors.Is(err, ErrCorrupt) {
							t.Fatalf("byte %d^%#x: Open = %v, want ErrCorrupt", off-start, bit, err)
						}
						if !bytes.Equal(readF(t, c, path), d) {
							t.Fatalf("byte %d^%#x: the segment changed", off-start, bit)
						}
						if ev, _ := c.ReadDir(tamperDir + "/" + evidenceDir); len(ev) != 0 {
							t.Fatalf("byte %d^%#x: evidence written", off-start, bit)
						}
					}
				}
			})
		}
	}
}

// What a crash leaves in an unflushed batch is still cut: a lost sector in
// the middle (its commit frame intact), a write cut short at any byte, or
// the commit frame lost.
func TestTornBatchShapesAreCut(t *testing.T) {
	m := vfs.NewMem()
	j := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 1 << 16})
	if _, err := j.Append(bg, payload(0)); err != nil {
		t.Fatal(err)
	}
	start := j.end
	big := [][]byte{bytes.Repeat([]byte("a"), 700), bytes.Repeat([]byte("b"), 700), payload(3)}
	if _, err := j.AppendBatch(bg, big); err != nil {
		t.Fatal(err)
	}
	end, path := j.end, j.seg.path
	j.Close()
	m.SyncAll()
	orig := readF(t, m, path)
	try := func(name string, d []byte) {
		t.Helper()
		c := m.Crash(1)
		writeF(t, c, path, d)
		rep, err := Verify(bg, "/j", &VerifyOptions{FS: c})
		if err != nil || rep.Torn == nil {
			t.Fatalf("%s: Verify = %v, torn %+v; want a torn tail", name, err, rep.Torn)
		}
		// A reader, which does not track the tree, agrees.
		ro := mustOpen(t, "/j", &Options{FS: c, ReadOnly: true})
		for _, err := range ro.Scan(0) {
			if err != nil {
				t.Fatalf("%s: read-only Scan: %v", name, err)
			}
		}
		ro.Close()
		got, _, j, err := readAll(c, "/j", &Options{SegmentSize: 1 << 16})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		j.Close()
		if len(got) != 1 {
			t.Fatalf("%s: kept %d records", name, len(got))
		}
	}
	for b := (start + sectorSize - 1) &^ (sectorSize - 1); b+sectorSize <= end; b += sectorSize {
		d := bytes.Clone(orig)
		clear(d[b : b+sectorSize])
		try(fmt.Sprintf("sector at %d lost", b), d)
	}
	for k := start + 1; k < end; k++ {
		// A sector the disk took while it was still being written:
		// its first bytes, zeros to its end (minHole bytes at least:
		// fewer are reported as corruption, FORMAT.md says), the
		// sectors after it kept.
		if b := (k + sectorSize) &^ (sectorSize - 1); b < end-8 && b-k >= minHole {
			d := bytes.Clone(orig)
			clear(d[k:b])
			if !bytes.Equal(d, orig) {
				try(fmt.Sprintf("sector half written up to %d", k-start), d)
			}
		}
		d := bytes.Clone(orig)
		clear(d[k:end])
		if bytes.Equal(d, orig) {
			continue
		}
		try(fmt.Sprintf("write cut at %d", k-start), d)
	}
}
