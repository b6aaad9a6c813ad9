package journal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// FuzzDecodeFrame: the frame decoder never panics, never reads past its
// input, and accepts only frames that encode back to the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	f.Add(appendFrame(nil, TypeData, 7, 1234, []byte("hello")))
	f.Add(appendFrame(nil, typeCommit, 0, 1, commitInfo{count: 1, crc: 5}.encode()))
	f.Add(appendFrame(nil, typeSeal, 9, 1, nil))
	f.Add(make([]byte, 64))
	f.Add([]byte{32, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, need, err := decodeFrame(data, int64(len(data)))
		if err != nil {
			return
		}
		if need != 0 {
			t.Fatalf("asked for %d more bytes with all %d of the file given", need, len(data))
		}
		if fr.size() > int64(len(data)) || fr.length < frameHeader {
			t.Fatalf("frame of %d bytes from %d", fr.size(), len(data))
		}
		re := appendFrame(nil, fr.typ, fr.index, fr.time, fr.body)
		if !bytes.Equal(re, data[:fr.size()]) {
			t.Fatalf("accepted a frame that does not re-encode to itself")
		}
		if fr.typ.isRecord() {
			r := recordOf(&fr)
			if !bytes.Equal(r.LeafData(), fr.leaf()) {
				t.Fatal("Record.LeafData differs from the frame's leaf bytes")
			}
		}
	})
}

// FuzzDecodeHeader: the header decoder never panics and round-trips.
func FuzzDecodeHeader(f *testing.F) {
	f.Add((&header{base: 5, prevBase: 0, size: 4096, state: []Hash{{1}, {2}}}).encode())
	f.Add((&header{prevBase: noPrev, size: 4096}).encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		h, n, err := decodeHeader(data)
		if err != nil || h == nil {
			return
		}
		if n > int64(len(data)) {
			t.Fatal("header longer than its input")
		}
		if !bytes.Equal(h.encode(), data[:h.length]) {
			t.Fatal("accepted a header that does not re-encode to itself")
		}
	})
}

// fuzzBase is a journal of 20 records in one segment, durable.
func fuzzBase(tb testing.TB) (*vfs.MemFS, []string, int64) {
	m := vfs.NewMem()
	j, err := Open("/j", &Options{FS: m, SegmentSize: 8192})
	if err != nil {
		tb.Fatal(err)
	}
	var want []string
	for k := range 20 {
		if _, err := j.Append(bg, payload(k)); err != nil {
			tb.Fatal(err)
		}
		want = append(want, string(payload(k)))
	}
	end := j.end
	j.Close()
	m.SyncAll()
	return m, want, end
}

// FuzzRecover overwrites part of the last segment with arbitrary bytes and
// opens the journal: it either refuses with ErrCorrupt (or ErrTampered) or
// recovers keeping every record written before the damage, and recovery
// leaves a log that verifies and that a second recovery does not change.
func FuzzRecover(f *testing.F) {
	base, want, end := fuzzBase(f)
	f.Add([]byte("garbage after the end"), uint16(0), true)
	f.Add(appendFrame(nil, TypeData, 20, 1, []byte("unacknowledged")), uint16(0), true)
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, uint16(100), false)
	f.Add(make([]byte, 40), uint16(300), false)
	f.Fuzz(func(t *testing.T, data []byte, off uint16, atEnd bool) {
		if len(data) == 0 || len(data) > 1024 {
			return
		}
		m := base.Crash(1)
		seg := "/j/" + segName(0)
		file, err := vfs.ReadFile(m, seg)
		if err != nil {
			t.Fatal(err)
		}
		h, _, _ := decodeHeader(file)
		pos := h.length + int64(off)%(int64(len(file))-h.length)
		if atEnd {
			pos = end + int64(off)%256
		}
		pos = min(pos, int64(len(file)))
		n := copy(file[pos:], data)
		if bytes.Equal(file[pos:pos+int64(n)], data[:n]) && n == 0 {
			return
		}
		if err := vfs.WriteFile(m, seg, file, 0o600); err != nil {
			t.Fatal(err)
		}
		m.SyncAll()
		got, _, j, err := readAll(m, "/j", &Options{SegmentSize: 8192})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTampered) {
				t.Fatalf("recovery failed without saying the log is damaged: %v", err)
			}
			if pos >= end {
				t.Fatalf("damage after the last commit (at %d, end %d) was refused: %v", pos, end, err)
			}
			return
		}
		j.Close()
		// Every record wholly before the damage is still there.
		kept := 0
		for _, o := range frameOffsets(file) {
			if o >= pos {
				break
			}
			kept++
		}
		kept = min(kept/2, len(want)) // each record has its commit frame
		if len(got) < kept {
			t.Fatalf("recovery lost records written before the damage: %d, want at least %d", len(got), kept)
		}
		for i := range kept {
			if got[i] != want[i] {
				t.Fatalf("record %d changed", i)
			}
		}
		if pos >= end && len(got) < len(want) {
			t.Fatalf("damage after the end lost records: %d of %d", len(got), len(want))
		}
		if rep, err := Verify(bg, "/j", &VerifyOptions{FS: m}); err != nil || rep.Torn != nil {
			t.Fatalf("after recovery: %v %+v", err, rep)
		}
		again, _, j2, err := readAll(m.Crash(0), "/j", &Options{SegmentSize: 8192})
		if err != nil {
			t.Fatalf("second recovery: %v", err)
		}
		j2.Close()
		if len(again) != len(got) {
			t.Fatalf("second recovery changed the log: %d then %d records", len(got), len(again))
		}
	})
}

// FuzzTailByte: one byte of the last committed batch set to any value is
// never cut as a torn tail (unless it leaves the batch ending in zeros,
// which is what a write cut short leaves: FORMAT.md, "Recovery").
func FuzzTailByte(f *testing.F) {
	m := vfs.NewMem()
	j, err := Open("/j", &Options{FS: m, SegmentSize: 8192})
	if err != nil {
		f.Fatal(err)
	}
	for k := range 5 {
		j.Append(bg, payload(k))
	}
	start := j.end
	j.AppendBatch(bg, [][]byte{payload(10), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, payload(12)})
	end := j.end
	j.Close()
	m.SyncAll()
	seg := "/j/" + segName(0)
	orig, err := vfs.ReadFile(m, seg)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint16(0), byte(1))
	f.Add(uint16(8), byte(0))
	f.Add(uint16(40), byte(0xff))
	f.Fuzz(func(t *testing.T, off uint16, val byte) {
		pos := start + int64(off)%(end-start)
		if orig[pos] == val {
			return
		}
		d := bytes.Clone(orig)
		d[pos] = val
		c := m.Crash(1)
		if err := vfs.WriteFile(c, seg, d, 0o600); err != nil {
			t.Fatal(err)
		}
		got, _, j, err := readAll(c, "/j", &Options{SegmentSize: 8192})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("refused without saying it is damage: %v", err)
			}
			return
		}
		j.Close()
		if len(got) < 8 && !(val == 0 && allZero(d[pos:end])) {
			t.Fatalf("byte %d of the batch set to %#x: %d records kept, the acknowledged batch cut", pos-start, val, len(got))
		}
	})
}
