package journal

import (
	"slices"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// Unflushed batches survive a crash of the process but not a power cut;
// the batch written after an unflushed one is flushed whatever it is told,
// so a crash leaves at most one unflushed batch at the end, and a flushed
// batch makes every one before it durable.
func TestTransactUnflushed(t *testing.T) {
	m := vfs.NewMem()
	j, err := Open("/j", &Options{FS: m, SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	appendOne := func(k int, flush bool) {
		t.Helper()
		if err := j.Transact(bg, func(tx *Tx) error {
			_, err := tx.Append([][]byte{payload(k)}, flush)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// kept opens what a power cut that loses everything unsynced leaves.
	kept := func() []string {
		t.Helper()
		data, _, j2, err := readAll(m.Crash(0), "/j", nil)
		if err != nil {
			t.Fatal(err)
		}
		j2.Close()
		return data
	}
	want := func(ks ...int) []string {
		var s []string
		for _, k := range ks {
			s = append(s, string(payload(k)))
		}
		return s
	}
	appendOne(0, true)
	appendOne(1, false)
	if got := kept(); !slices.Equal(got, want(0)) {
		t.Fatalf("after an unflushed batch, a power cut keeps %q, want %q", got, want(0))
	}
	appendOne(2, false) // follows an unflushed batch: flushed
	if got := kept(); !slices.Equal(got, want(0, 1, 2)) {
		t.Fatalf("after two unflushed batches, a power cut keeps %q, want %q", got, want(0, 1, 2))
	}
	appendOne(3, false)
	appendOne(4, true) // covers 3
	if got := kept(); !slices.Equal(got, want(0, 1, 2, 3, 4)) {
		t.Fatalf("after a flushed batch, a power cut keeps %q, want %q", got, want(0, 1, 2, 3, 4))
	}
	// Everything written, flushed or not, survives the process.
	appendOne(5, false)
	data, _, j2, err := readAll(m, "/j", nil)
	if err != nil {
		t.Fatal(err)
	}
	j2.Close()
	if !slices.Equal(data, want(0, 1, 2, 3, 4, 5)) {
		t.Fatalf("without a power cut: %q", data)
	}
	var tx2 *Tx
	j.Transact(bg, func(tx *Tx) error { tx2 = tx; return nil })
	if _, err := tx2.Append([][]byte{payload(6)}, true); err == nil {
		t.Fatal("Append after Transact returned succeeded")
	}
}
