package queue

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/vfs"
)

// A message larger than a segment, as the queue's first push, gets a
// segment that fits it, and the queue opens again.
func TestPushLargerThanASegment(t *testing.T) {
	m := vfs.NewMem()
	o := &Options{FS: m, SegmentSize: 1 << 20}
	q, err := Open("/q", o)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("m"), 2<<20)
	if _, err := q.Push(bg, big); err != nil {
		t.Fatalf("push of 2 MB: %v", err)
	}
	q.Close()
	for seed := uint64(0); seed < 8; seed++ {
		q, err := Open("/q", &Options{FS: m.Crash(seed), SegmentSize: 1 << 20})
		if err != nil {
			t.Fatalf("seed %d: reopen: %v", seed, err)
		}
		msg, ok, err := q.TryPop(bg, 1e9)
		if err != nil || !ok || !bytes.Equal(msg.Payload, big) {
			t.Fatalf("seed %d: pop: %v %v (%d bytes)", seed, ok, err, len(msg.Payload))
		}
		q.Close()
	}
}

// One changed byte in the batch that pushed three acknowledged messages is
// corruption: the queue refuses to open, and nothing is cut.
func TestFlippedByteInLastBatchIsReported(t *testing.T) {
	m := vfs.NewMem()
	q, err := Open("/q", &Options{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Push(bg, []byte("first")); err != nil {
		t.Fatal(err)
	}
	q.Close()
	seg := lastSegment(t, m, "/q")
	before, _ := vfs.ReadFile(m, seg)
	q, _ = Open("/q", &Options{FS: m})
	if _, err := q.PushBatch(bg, [][]byte{[]byte("one"), []byte("two"), []byte("three")}); err != nil {
		t.Fatal(err)
	}
	q.Close()
	m.SyncAll()
	after, _ := vfs.ReadFile(m, seg)
	start := (len(bytes.TrimRight(before, "\x00")) + 7) &^ 7
	end := len(bytes.TrimRight(after, "\x00"))
	if end <= start {
		t.Fatalf("batch not found (%d..%d)", start, end)
	}
	for off := start; off < end; off += 3 {
		c := m.Crash(1)
		d := bytes.Clone(after)
		d[off] ^= 0x10
		if err := vfs.WriteFile(c, seg, d, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open("/q", &Options{FS: c}); !errors.Is(err, durable.ErrCorrupt) {
			t.Fatalf("byte %d of the batch changed: Open = %v, want ErrCorrupt", off-start, err)
		}
		got, _ := vfs.ReadFile(c, seg)
		if !bytes.Equal(got, d) {
			t.Fatalf("byte %d of the batch changed: the segment was changed", off-start)
		}
	}
}

func lastSegment(t *testing.T, fsys vfs.FS, dir string) string {
	t.Helper()
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var segs []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".seg") {
			segs = append(segs, e.Name())
		}
	}
	slices.Sort(segs)
	if len(segs) == 0 {
		t.Fatal("no segment")
	}
	return filepath.Join(dir, segs[len(segs)-1])
}
