package journal

import (
	"fmt"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// scanned returns the payloads of the records seq yields, or its error.
func scanned(seq func(yield func(Record, error) bool)) ([]string, error) {
	var out []string
	for rec, err := range seq {
		if err != nil {
			return out, err
		}
		if rec.Type == TypeData {
			out = append(out, string(rec.Payload))
		}
	}
	return out, nil
}

// Tx.Scan, which reads the segment the journal has open, yields what
// Journal.Scan yields, from every index: the records another handle (a
// process) appended included, from segments before the open one too, and
// from places it remembers in the open one. After fn returns it refuses.
func TestTxScanIsScan(t *testing.T) {
	m := vfs.NewMem()
	withLockFile(t, m)
	a := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 4096})
	defer a.Close()
	b := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 4096})
	defer b.Close()
	for k := range 40 {
		j := a
		if k%3 == 2 {
			j = b
		}
		if _, err := j.Append(bg, append(payload(k), make([]byte, 200)...)); err != nil {
			t.Fatal(err)
		}
	}
	segs, _ := listSegments(m, "/j")
	if len(segs) < 2 {
		t.Fatalf("%d segments: the test needs records in segments before the open one", len(segs))
	}
	var tx0 *Tx
	err := b.WithLock(bg, func(tx *Tx) error {
		tx0 = tx
		for from := range tx.Size() + 1 {
			want, err := scanned(b.Scan(from))
			if err != nil {
				return err
			}
			got, err := scanned(tx.Scan(from))
			if err != nil {
				return fmt.Errorf("Tx.Scan(%d): %w", from, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("Tx.Scan(%d) yields %d records, Scan %d", from, len(got), len(want))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scanned(tx0.Scan(0)); err == nil {
		t.Error("Tx.Scan after WithLock returned: no error")
	}
	// The journal's own segment is still open and usable.
	if _, err := b.Append(bg, payload(99)); err != nil {
		t.Fatal(err)
	}
	got, err := scanned(b.Scan(0))
	if err != nil || len(got) != 41 {
		t.Fatalf("after Tx.Scan: %d records (%v), want 41", len(got), err)
	}
}
