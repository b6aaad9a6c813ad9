package journal

import (
	"bytes"
	"errors"
	"hash/crc32"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/vfs"
)

// The tampering suite: each attack is made on a copy of one log, and Verify
// must catch it, as tampering (ErrTampered) where every checksum still
// holds, as corruption (ErrCorrupt) where one does not. The attacks an
// attacker can only get away with by recomputing everything are checked
// with and without a checkpoint, to show which need one.

const tamperDir = "/j"

type fixture struct {
	m        *vfs.MemFS
	signer   note.Signer
	verifier note.Verifier
	other    note.Signer // a key the verifier does not trust
	cpSmall  []byte      // checkpoint at 30 records
	cpFull   []byte      // checkpoint at 50 records (stored)
	logID    [16]byte
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{m: vfs.NewMem()}
	f.signer, f.verifier = testKey(t, "audit")
	f.other, _ = testKey(t, "audit")
	j := mustOpen(t, tamperDir, &Options{FS: f.m, SegmentSize: 4096})
	defer j.Close()
	f.logID = j.LogID()
	for k := range 50 {
		if _, err := j.Append(bg, payload(k)); err != nil {
			t.Fatal(err)
		}
		if k == 29 {
			cp, err := j.Checkpoint(bg, f.signer)
			if err != nil {
				t.Fatal(err)
			}
			f.cpSmall = cp
		}
	}
	cp, err := j.Checkpoint(bg, f.signer)
	if err != nil {
		t.Fatal(err)
	}
	f.cpFull = cp
	f.m.SyncAll()
	return f
}

func (f *fixture) copy() *vfs.MemFS { return f.m.Crash(1) }

func (f *fixture) verify(m *vfs.MemFS, remembered []byte) (*Report, error) {
	return Verify(bg, tamperDir, &VerifyOptions{FS: m, Verifier: f.verifier, Remembered: remembered})
}

func segPaths(t *testing.T, m *vfs.MemFS) []string {
	bases, err := listSegments(m, tamperDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range bases {
		out = append(out, filepath.Join(tamperDir, segName(b)))
	}
	return out
}

func readF(t *testing.T, m vfs.FS, p string) []byte {
	b, err := vfs.ReadFile(m, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeF(t *testing.T, m vfs.FS, p string, b []byte) {
	if err := vfs.WriteFile(m, p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// frames lists the frame offsets of a segment file.
func frameOffsets(data []byte) []int64 {
	h, _, err := decodeHeader(data)
	if err != nil || h == nil {
		return nil
	}
	var out []int64
	off := h.length
	for {
		f, _, err := decodeFrame(data[off:], int64(len(data))-off)
		if err != nil {
			return out
		}
		out = append(out, off)
		off += f.size()
	}
}

// forge writes a complete, self-consistent log of recs (renumbered in
// order) with the given log id, one batch per record: what an attacker who
// knows the format but lacks the key can make.
func forge(t *testing.T, m vfs.FS, logID [16]byte, recs []Record) {
	for _, p := range segPaths(t, m.(*vfs.MemFS)) {
		m.Remove(p)
	}
	var tree compact
	prev := noPrev
	base := uint64(0)
	var buf []byte
	flush := func() {
		if buf == nil {
			return
		}
		out := make([]byte, 4096)
		copy(out, buf)
		writeF(t, m, filepath.Join(tamperDir, segName(base)), out)
	}
	start := func() {
		h := &header{logID: logID, base: tree.size, prevBase: prev, size: 4096, state: append([]Hash(nil), tree.hashes...)}
		buf = h.encode()
		base = tree.size
	}
	start()
	for i, r := range recs {
		fr := appendFrame(nil, r.Type, uint64(i), r.Time.UnixNano(), r.Payload)
		if len(buf)+len(fr)+commitSize+sealSize > 4096 {
			buf = appendFrame(buf, typeSeal, tree.size, 0, nil)
			flush()
			prev = base
			start()
		}
		tree.push(leafHash(fr[8 : frameHeader+len(r.Payload)]))
		buf = append(buf, fr...)
		c := commitInfo{count: 1, crc: maskCRC(crc32.Checksum(fr, castagnoli)), root: tree.root()}
		buf = appendFrame(buf, typeCommit, uint64(i), 0, c.encode())
	}
	flush()
}

func (f *fixture) records(t *testing.T) []Record {
	j := mustOpen(t, tamperDir, &Options{FS: f.m.Crash(1), SegmentSize: 4096, ReadOnly: true})
	defer j.Close()
	return records(t, j)
}

func signWith(t *testing.T, s note.Signer, origin string, size uint64, root Hash) []byte {
	msg, err := note.Sign(&note.Note{Text: origin + "\n" + itoa(size) + "\n" + root.Base64() + "\n"}, s)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestTampering(t *testing.T) {
	f := newFixture(t)
	if rep, err := f.verify(f.copy(), f.cpFull); err != nil || rep.Size != 50 || !rep.CheckpointVerified {
		t.Fatalf("the untouched log does not verify: %v %+v", err, rep)
	}
	recs := f.records(t)
	type attack struct {
		name string
		do   func(m *vfs.MemFS)
		// want is the sentinel Verify must report; needCP says the attack
		// is only caught with the stored checkpoint (and passes without).
		want   error
		notTam bool // must not be reported as tampering
		needCP bool
	}
	segs := segPaths(t, f.m)
	attacks := []attack{
		{name: "flip a byte in a record", want: ErrCorrupt, notTam: true, do: func(m *vfs.MemFS) {
			d := readF(t, m, segs[1])
			offs := frameOffsets(d)
			d[offs[2]+40] ^= 0x20
			writeF(t, m, segs[1], d)
		}},
		{name: "flip a byte in a header", want: ErrCorrupt, notTam: true, do: func(m *vfs.MemFS) {
			d := readF(t, m, segs[1])
			d[20] ^= 1
			writeF(t, m, segs[1], d)
		}},
		{name: "alter a record, fix its checksums", want: ErrTampered, do: func(m *vfs.MemFS) {
			d := readF(t, m, segs[0])
			offs := frameOffsets(d)
			rec, com := offs[4], offs[5]
			fr, _, _ := decodeFrame(d[rec:], int64(len(d))-rec)
			fr.raw[frameHeader] ^= 1
			put32(fr.raw[4:], frameCRC(fr.raw[:fr.length]))
			c, _, _ := decodeFrame(d[com:], int64(len(d))-com)
			ci := decodeCommit(c.body)
			ci.crc = maskCRC(crc32.Checksum(fr.raw, castagnoli))
			copy(c.body, ci.encode())
			put32(c.raw[4:], frameCRC(c.raw[:c.length]))
			writeF(t, m, segs[0], d)
		}},
		{name: "swap two batches", want: ErrTampered, do: func(m *vfs.MemFS) {
			d := readF(t, m, segs[0])
			offs := frameOffsets(d)
			// batches are (record, commit) pairs of equal size? swap
			// batch 1 and 2 only if they are the same length
			a := d[offs[2]:offs[4]]
			b := d[offs[4]:offs[6]]
			if len(a) != len(b) {
				b = d[offs[4] : offs[4]+int64(len(a))]
			}
			tmp := bytes.Clone(a)
			copy(a, b)
			copy(b, tmp)
			writeF(t, m, segs[0], d)
		}},
		{name: "rewrite with a record altered, everything recomputed", want: ErrTampered, needCP: true, do: func(m *vfs.MemFS) {
			rs := cloneRecs(recs)
			rs[7].Payload = []byte("I was never here")
			forge(t, m, f.logID, rs)
		}},
		{name: "rewrite with a record deleted", want: ErrTampered, needCP: true, do: func(m *vfs.MemFS) {
			rs := cloneRecs(recs)
			forge(t, m, f.logID, append(rs[:10], rs[11:]...))
		}},
		{name: "rewrite with two records reordered", want: ErrTampered, needCP: true, do: func(m *vfs.MemFS) {
			rs := cloneRecs(recs)
			rs[3], rs[4] = rs[4], rs[3]
			forge(t, m, f.logID, rs)
		}},
		{name: "rewrite with a record inserted", want: ErrTampered, needCP: true, do: func(m *vfs.MemFS) {
			rs := cloneRecs(recs)
			ins := Record{Type: TypeData, Time: rs[5].Time, Payload: []byte("inserted")}
			forge(t, m, f.logID, append(rs[:5], append([]Record{ins}, rs[5:]...)...))
		}},
		{name: "truncate at a batch boundary, everything recomputed", want: ErrTampered, needCP: true, do: func(m *vfs.MemFS) {
			forge(t, m, f.logID, cloneRecs(recs)[:45])
		}},
		{name: "truncate by zeroing the last batches", want: ErrTampered, needCP: true, do: func(m *vfs.MemFS) {
			last := segs[len(segs)-1]
			d := readF(t, m, last)
			offs := frameOffsets(d)
			clear(d[offs[len(offs)-4]:])
			writeF(t, m, last, d)
		}},
		{name: "delete a segment", want: ErrTampered, do: func(m *vfs.MemFS) {
			m.Remove(segs[1])
		}},
		{name: "delete the first segment", want: ErrTampered, do: func(m *vfs.MemFS) {
			m.Remove(segs[0])
		}},
		{name: "swap in a segment from another log", want: ErrTampered, do: func(m *vfs.MemFS) {
			o := vfs.NewMem()
			oj := mustOpen(t, tamperDir, &Options{FS: o, SegmentSize: 4096})
			for k := range 50 {
				oj.Append(bg, payload(k))
			}
			oj.Close()
			writeF(t, m, segs[1], readF(t, o, segs[1]))
		}},
		{name: "checkpoint signed by another key", want: ErrTampered, do: func(m *vfs.MemFS) {
			cp, _ := ParseCheckpoint(f.cpFull, nil)
			writeF(t, m, filepath.Join(tamperDir, checkpointName), signWith(t, f.other, cp.Origin, cp.Size, cp.Root))
		}},
		{name: "checkpoint deleted", want: ErrTampered, do: func(m *vfs.MemFS) {
			m.Remove(filepath.Join(tamperDir, checkpointName))
		}},
	}
	for _, a := range attacks {
		t.Run(strings.ReplaceAll(a.name, " ", "_"), func(t *testing.T) {
			m := f.copy()
			a.do(m)
			rep, err := f.verify(m, f.cpFull)
			if !errors.Is(err, a.want) {
				t.Fatalf("Verify: %v, want %v\nreport %+v", err, a.want, rep)
			}
			if a.notTam && errors.Is(err, ErrTampered) {
				t.Errorf("reported as tampering, but only a checksum failed: %v", err)
			}
			if !strings.Contains(err.Error(), filepath.FromSlash(tamperDir)) {
				t.Errorf("the error does not say where: %v", err)
			}
			t.Logf("caught: %v", err)
			// Which attacks need the checkpoint: without it (and without a
			// remembered one or a trusted key) they pass. With the key,
			// the missing checkpoint is itself caught, and the report
			// says how many records nothing vouches for.
			m.Remove(filepath.Join(tamperDir, checkpointName))
			rep, err = Verify(bg, tamperDir, &VerifyOptions{FS: m})
			if a.needCP && err != nil {
				t.Errorf("without a checkpoint this attack should go unnoticed (the docs say so), got %v", err)
			}
			if a.needCP && rep.Uncovered != rep.Size {
				t.Errorf("report says %d records are uncovered, want all %d", rep.Uncovered, rep.Size)
			}
			if _, err = Verify(bg, tamperDir, &VerifyOptions{FS: m, Verifier: f.verifier}); a.needCP && !errors.Is(err, ErrTampered) {
				t.Errorf("without a checkpoint, but with the key: %v, want ErrTampered", err)
			}
		})
	}
}

// An attacker who holds the signing key rewrites the log and re-signs the
// stored checkpoint; or rolls both back to an older state. Only a
// checkpoint remembered elsewhere catches that.
func TestTamperingWithTheKey(t *testing.T) {
	f := newFixture(t)
	recs := f.records(t)
	small, _ := ParseCheckpoint(f.cpSmall, nil)

	t.Run("rollback_to_an_older_checkpoint", func(t *testing.T) {
		m := f.copy()
		forge(t, m, f.logID, cloneRecs(recs)[:30])
		writeF(t, m, filepath.Join(tamperDir, checkpointName), f.cpSmall)
		if _, err := f.verify(m, nil); err != nil {
			t.Fatalf("rolled back log and checkpoint should verify without a remembered checkpoint: %v", err)
		}
		_, err := f.verify(m, f.cpFull)
		if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "rolled back") {
			t.Fatalf("Verify with the remembered checkpoint: %v", err)
		}
	})
	t.Run("rewrite_and_re-sign", func(t *testing.T) {
		m := f.copy()
		rs := cloneRecs(recs)
		rs[2].Payload = []byte("rewritten history")
		forge(t, m, f.logID, rs)
		j := mustOpen(t, tamperDir, &Options{FS: m, ReadOnly: true})
		root, _ := j.RootAt(bg, 50)
		j.Close()
		writeF(t, m, filepath.Join(tamperDir, checkpointName), signWith(t, f.signer, small.Origin, 50, root))
		if _, err := f.verify(m, nil); err != nil {
			t.Fatalf("a re-signed rewrite verifies without a remembered checkpoint (as documented): %v", err)
		}
		_, err := f.verify(m, f.cpSmall)
		if !errors.Is(err, ErrTampered) {
			t.Fatalf("Verify with the remembered (older) checkpoint: %v", err)
		}
	})
}

func TestCheckpointRefusesToMoveBackwards(t *testing.T) {
	f := newFixture(t)
	m := f.copy()
	forge(t, m, f.logID, f.records(t)[:40])
	j := mustOpen(t, tamperDir, &Options{FS: m, SegmentSize: 4096})
	defer j.Close()
	before := readF(t, m, filepath.Join(tamperDir, checkpointName))
	_, err := j.Checkpoint(bg, f.signer)
	if !errors.Is(err, ErrTampered) {
		t.Fatalf("Checkpoint over a truncated log: %v", err)
	}
	if !bytes.Equal(before, readF(t, m, filepath.Join(tamperDir, checkpointName))) {
		t.Fatal("the stored checkpoint was replaced")
	}
}

// Open refuses damage that is not a torn tail, naming file and offset, and
// never appends after it.
func TestOpenRefusesDamage(t *testing.T) {
	f := newFixture(t)
	segs := segPaths(t, f.m)
	for _, c := range []struct {
		name string
		do   func(m *vfs.MemFS)
	}{
		{"bad frame before the last commit", func(m *vfs.MemFS) {
			last := segs[len(segs)-1]
			d := readF(t, m, last)
			offs := frameOffsets(d)
			d[offs[0]+frameHeader+3] ^= 0xff
			writeF(t, m, last, d)
		}},
		{"bad header", func(m *vfs.MemFS) {
			d := readF(t, m, segs[len(segs)-1])
			d[9] ^= 0xff
			writeF(t, m, segs[len(segs)-1], d)
		}},
		{"missing segment", func(m *vfs.MemFS) { m.Remove(segs[1]) }},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			m := f.copy()
			c.do(m)
			before := m.Dump()
			_, err := Open(tamperDir, &Options{FS: m, SegmentSize: 4096})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			}
			var je *Error
			if !errors.As(err, &je) || !strings.HasPrefix(je.Path, filepath.FromSlash(tamperDir)) {
				t.Fatalf("error %v does not name the file", err)
			}
			if m.Dump() != before {
				t.Fatalf("Open changed the damaged journal")
			}
			t.Log(err)
		})
	}
}

// A torn tail is benign for Verify and cut by Open.
func TestTornTailIsReportedAndCut(t *testing.T) {
	f := newFixture(t)
	m := f.copy()
	segs := segPaths(t, m)
	last := segs[len(segs)-1]
	d := readF(t, m, last)
	offs := frameOffsets(d)
	end := offs[len(offs)-1] + commitSize
	half := appendFrame(nil, TypeData, 50, 0, []byte("half-written record that never got its commit"))
	copy(d[end:], half[:40])
	writeF(t, m, last, d)
	rep, err := f.verify(m, f.cpFull)
	if err != nil || rep.Torn == nil || rep.Torn.Offset != end {
		t.Fatalf("Verify: %v, torn %+v", err, rep.Torn)
	}
	j := mustOpen(t, tamperDir, &Options{FS: m, SegmentSize: 4096})
	recs := records(t, j)
	j.Close()
	lastRec := recs[len(recs)-1]
	if lastRec.Type != TypeNote || !strings.Contains(string(lastRec.Payload), "torn tail") {
		t.Fatalf("no recovery note: %+v", lastRec)
	}
	ev, _ := m.ReadDir(filepath.Join(tamperDir, evidenceDir))
	if len(ev) != 1 || !bytes.Equal(readF(t, m, filepath.Join(tamperDir, evidenceDir, ev[0].Name())), half[:40]) {
		t.Fatalf("evidence: %v", ev)
	}
	if rep, err := f.verify(m, f.cpFull); err != nil || rep.Torn != nil {
		t.Fatalf("after recovery: %v %+v", err, rep.Torn)
	}
}

func cloneRecs(rs []Record) []Record {
	out := make([]Record, len(rs))
	for i, r := range rs {
		r.Payload = bytes.Clone(r.Payload)
		out[i] = r
	}
	return out
}

func put32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// Scan reports damage inside the log instead of stopping quietly.
func TestScanReportsDamage(t *testing.T) {
	f := newFixture(t)
	m := f.copy()
	segs := segPaths(t, m)
	d := readF(t, m, segs[1])
	d[frameOffsets(d)[2]+40] ^= 1
	writeF(t, m, segs[1], d)
	j := mustOpen(t, tamperDir, &Options{FS: m, ReadOnly: true})
	defer j.Close()
	n := 0
	var last error
	for _, err := range j.Scan(0) {
		if err != nil {
			last = err
			break
		}
		n++
	}
	if !errors.Is(last, ErrCorrupt) || !strings.Contains(last.Error(), filepath.FromSlash(segs[1])) {
		t.Fatalf("Scan after %d records: %v", n, last)
	}
}
