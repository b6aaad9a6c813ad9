package journal

import (
	"context"
	"fmt"
	"io/fs"
	"sync/atomic"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// openCounter counts the files opened through it.
type openCounter struct {
	vfs.FS
	opens atomic.Int64
}

func (c *openCounter) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	c.opens.Add(1)
	return c.FS.OpenFile(name, flag, perm)
}

// Tx.Scan is what a writer that catches up at every turn of the lock reads
// through (package store's log mode): two handles (two processes, as far
// as the model goes) append in turns across segment rotations, and under
// the lock Tx.Scan from every index yields what Journal.Scan does, up to
// Size; from the place where the handle's last batch ended, in the segment
// it writes to, it opens no file.
func TestTxScanMatchesScanAndOpensNothing(t *testing.T) {
	fsys := &openCounter{FS: vfs.NewMem()}
	o := &Options{FS: fsys, SegmentSize: 4096}
	js := [2]*Journal{mustOpen(t, "/j", o), mustOpen(t, "/j", o)}
	defer js[0].Close()
	defer js[1].Close()
	ctx := context.Background()
	ends := [2]uint64{} // where each handle's last batch ended
	shortcuts := 0
	for turn := range 40 {
		k := turn % 2
		j := js[k]
		err := j.WithLock(ctx, func(tx *Tx) error {
			size := tx.Size()
			for from := uint64(0); from <= size+1; from++ {
				var got []Record
				for rec, err := range tx.Scan(from) {
					if err != nil {
						return fmt.Errorf("Tx.Scan(%d): %w", from, err)
					}
					got = append(got, rec)
				}
				want, err := scanAll(j, from)
				if err != nil {
					return err
				}
				if len(got) != len(want) {
					return fmt.Errorf("Tx.Scan(%d) at size %d: %d records, Scan %d", from, size, len(got), len(want))
				}
				for i := range got {
					if got[i].Index != want[i].Index || string(got[i].Payload) != string(want[i].Payload) {
						return fmt.Errorf("Tx.Scan(%d), record %d: %+v, Scan %+v", from, i, got[i], want[i])
					}
				}
			}
			if from := ends[k]; from > j.seg.base && from < size {
				before := fsys.opens.Load()
				n := 0
				for _, err := range tx.Scan(from) {
					if err != nil {
						return err
					}
					n++
				}
				if opened := fsys.opens.Load() - before; opened != 0 {
					return fmt.Errorf("Tx.Scan(%d) in the segment being written opened %d files", from, opened)
				}
				if want := int(size - from); n != want {
					return fmt.Errorf("Tx.Scan(%d): %d records, want %d", from, n, want)
				}
				shortcuts++
			}
			payloads := make([][]byte, 1+turn%3)
			for i := range payloads {
				payloads[i] = fmt.Appendf(nil, "turn %d record %d %0*d", turn, i, 200, 0)
			}
			first, err := tx.AppendFlushed(payloads)
			ends[k] = first + uint64(len(payloads))
			return err
		})
		if err != nil {
			t.Fatalf("turn %d: %v", turn, err)
		}
	}
	if shortcuts == 0 {
		t.Fatal("no turn caught up inside the segment being written: the test checks nothing")
	}
	// After the lock, the Tx reads nothing.
	var kept *Tx
	js[0].WithLock(ctx, func(tx *Tx) error { kept = tx; return nil })
	for _, err := range kept.Scan(0) {
		if err == nil {
			t.Fatal("Tx.Scan after WithLock returned yielded a record")
		}
	}
}

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
	a, b := twoHandles(t, m, 4096)
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
