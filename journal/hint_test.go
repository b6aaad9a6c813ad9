package journal

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// Scan's shortcut (hint.go) against the plain path: two handles on one
// directory (two processes, as far as the model goes) append in turns,
// across segment rotations, and Scan from every index gives the same
// records with and without the places each handle remembers.

// scanAll returns what Scan(from) yields, or the error it ends with.
func scanAll(j *Journal, from uint64) ([]Record, error) {
	var out []Record
	for rec, err := range j.Scan(from) {
		if err != nil {
			return out, err
		}
		out = append(out, Record{Index: rec.Index, Type: rec.Type, Time: rec.Time, Payload: bytes.Clone(rec.Payload)})
	}
	return out, nil
}

// checkScansAgree compares Scan from every index up to size+1 through j's
// places and through the plain path.
func checkScansAgree(t *testing.T, j *Journal, size uint64) {
	t.Helper()
	for from := uint64(0); from <= size+1; from++ {
		j.noPlaces = false
		got, gerr := scanAll(j, from)
		j.noPlaces = true
		want, werr := scanAll(j, from)
		j.noPlaces = false
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || len(got) != len(want) {
			t.Fatalf("Scan(%d): %d records, %v; the plain path: %d, %v", from, len(got), gerr, len(want), werr)
		}
		for i := range got {
			if got[i].Index != want[i].Index || got[i].Type != want[i].Type || got[i].Time != want[i].Time || !bytes.Equal(got[i].Payload, want[i].Payload) {
				t.Fatalf("Scan(%d), record %d: %+v, the plain path %+v", from, i, got[i], want[i])
			}
		}
	}
}

// runHintOps appends through two handles as ops says: each byte picks the
// handle (bit 0), the number of records (bits 1-3) and their size (bits
// 4-7, in steps of 64 bytes, so that segments of 4 KiB rotate often).
func runHintOps(t *testing.T, ops []byte) {
	fsys := vfs.NewMem()
	o := &Options{FS: fsys, SegmentSize: 4096}
	js := [2]*Journal{mustOpen(t, "/j", o), mustOpen(t, "/j", o)}
	defer js[0].Close()
	defer js[1].Close()
	for k, op := range ops {
		n := int(op>>1&7) + 1
		payloads := make([][]byte, n)
		for i := range payloads {
			payloads[i] = bytes.Repeat([]byte{byte(k)}, int(op>>4)*64+i)
		}
		if _, err := js[op&1].AppendBatch(bg, payloads); err != nil {
			t.Fatal(err)
		}
	}
	size, _, err := js[0].Head(bg)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range js {
		checkScansAgree(t, j, size)
	}
}

func TestScanFromPlacesAgreesWithThePlainPath(t *testing.T) {
	runHintOps(t, []byte{0, 1, 0x31, 0x20, 0xf7, 0xf6, 3, 2, 0x45, 0x44, 0x1, 0x80, 0x81, 0xee, 0xef, 0, 1})
}

// A place that no longer matches the segment (as after recovery cut a
// batch that a power cut lost, which the place outlived) is not trusted:
// Scan takes the plain path and yields what it would have.
func TestScanIgnoresAPlaceThatDoesNotMatch(t *testing.T) {
	j := mustOpen(t, "/j", &Options{FS: vfs.NewMem()})
	defer j.Close()
	var after []place // after[i]: the place after record i
	for i := range 5 {
		if _, err := j.Append(bg, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		after = append(after, j.places[(j.nplaces-1)%places])
	}
	j.noPlaces = true
	want, err := scanAll(j, 2)
	j.noPlaces = false
	if err != nil || len(want) != 3 {
		t.Fatalf("plain Scan(2): %d records, %v", len(want), err)
	}
	good := j.places[(j.nplaces-1)%places]
	for _, bad := range []place{
		{logID: good.logID, base: good.base, index: 2, off: good.off + 8}, // not a frame boundary
		{logID: good.logID, base: good.base, index: 2, off: 1 << 40},      // past the end
		{logID: [16]byte{1}, base: good.base, index: 2, off: good.off},    // another log
		{logID: good.logID, base: 99, index: 2, off: good.off},            // no such segment
		{logID: good.logID, base: good.base, index: 2, off: after[2].off}, // the boundary before 3, not 2
		{logID: good.logID, base: good.base, index: 2, off: 0},            // inside the header
	} {
		j.mu.Lock()
		j.places = [places]place{bad}
		j.nplaces = 1
		j.mu.Unlock()
		got, err := scanAll(j, 2)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("with place %+v: %d records, %v; want %d", bad, len(got), err, len(want))
		}
	}
}

func FuzzScanFromPlaces(f *testing.F) {
	f.Add([]byte{0, 1, 0x31, 0x20, 0xf7, 0xf6})
	f.Add([]byte{0xff, 0xff, 0xfe, 0xfe, 1, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 40 {
			ops = ops[:40]
		}
		runHintOps(t, ops)
	})
}
