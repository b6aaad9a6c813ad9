package queue

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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

// A consumer whose lease ran out and whose message went to another cannot
// end the new holder's lease: Nack, Extend and Ack with its receipt are
// refused with ErrLeaseLost, nothing is written, and the new holder's
// receipt still works.
func TestStaleReceiptIsRefused(t *testing.T) {
	c := newClock()
	m := vfs.NewMem()
	q, err := Open("/q", &Options{FS: m, Now: c.Now, MaxAttempts: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.Push(bg, []byte("job")); err != nil {
		t.Fatal(err)
	}
	a, err := q.Pop(bg, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second)
	b, err := q.Pop(bg, time.Minute)
	if err != nil || b.ID != a.ID || b.Attempt != 2 {
		t.Fatalf("second pop: %+v %v", b, err)
	}
	before := m.Dump()
	for name, op := range map[string]func() error{
		"nack":   func() error { return q.Nack(bg, a.Receipt(), 0) },
		"extend": func() error { return q.Extend(bg, a.Receipt(), time.Hour) },
		"ack":    func() error { return q.Ack(bg, a.Receipt()) },
	} {
		if err := op(); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("%s with the stale receipt: %v, want ErrLeaseLost", name, err)
		}
	}
	if m.Dump() != before {
		t.Error("a refused operation changed the queue")
	}
	if st, _ := q.Stats(); st != (Stats{Leased: 1}) {
		t.Errorf("stats %+v, want the message leased", st)
	}
	if _, ok, err := q.TryPop(bg, time.Minute); ok || err != nil {
		t.Errorf("a third consumer got the message (%v)", err)
	}
	if err := q.Extend(bg, b.Receipt(), time.Hour); err != nil {
		t.Fatalf("extend by the holder: %v", err)
	}
	if err := q.Ack(bg, b.Receipt()); err != nil {
		t.Fatalf("ack by the holder: %v", err)
	}
	// A receipt that never was, and the round trip through text.
	if err := q.Ack(bg, Receipt{ID: a.ID, Attempt: 9}); !errors.Is(err, ErrNotFound) {
		t.Errorf("ack after ack: %v", err)
	}
	r, err := ParseReceipt(b.Receipt().String())
	if err != nil || r != b.Receipt() {
		t.Errorf("ParseReceipt(%q) = %v, %v", b.Receipt(), r, err)
	}
	for _, bad := range []string{"", "7", "7.", ".1", "7.0", "7.x", "-1.1", "7.1.1"} {
		if _, err := ParseReceipt(bad); err == nil {
			t.Errorf("ParseReceipt(%q) accepted", bad)
		}
	}
}

// Nack with a stale receipt after the new holder nacked too: the message
// is ready again, and the stale consumer still cannot touch it.
func TestStaleReceiptAfterRedelivery(t *testing.T) {
	c := newClock()
	q, err := Open("/q", &Options{FS: vfs.NewMem(), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.Push(bg, []byte("job"))
	a, _ := q.Pop(bg, time.Second)
	c.Advance(2 * time.Second)
	b, _ := q.Pop(bg, time.Second)
	if err := q.Nack(bg, b.Receipt(), 0); err != nil {
		t.Fatal(err)
	}
	if err := q.Nack(bg, a.Receipt(), 0); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("nack with the first receipt: %v", err)
	}
	if err := q.Ack(bg, a.Receipt()); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("ack with the first receipt: %v", err)
	}
	// Its own lease ran out, nobody took the message: the holder may
	// still finish it.
	d, _ := q.Pop(bg, time.Second)
	c.Advance(2 * time.Second)
	if err := q.Ack(bg, d.Receipt()); err != nil {
		t.Errorf("ack after the lease ran out, not delivered again: %v", err)
	}
}

// Compaction drops segments; their removals may reach the disk in any
// subset (POSIX orders no directory operations). Every such state opens
// with exactly the live messages.
func TestCompactionAnySubsetOfRemovals(t *testing.T) {
	m := vfs.NewMem()
	o := &Options{FS: m, SegmentSize: 4096, CompactRecords: 1 << 30}
	q, err := Open("/q", o)
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat(".", 200)
	for k := range 60 {
		if _, err := q.Push(bg, []byte(fmt.Sprintf("job %d %s", k, pad))); err != nil {
			t.Fatal(err)
		}
	}
	for range 50 {
		msg, err := q.Pop(bg, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Ack(bg, msg.Receipt()); err != nil {
			t.Fatal(err)
		}
	}
	saved := map[string][]byte{}
	ents, _ := m.ReadDir("/q")
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".seg") {
			saved[e.Name()], _ = vfs.ReadFile(m, filepath.Join("/q", e.Name()))
		}
	}
	if err := q.Compact(bg); err != nil {
		t.Fatal(err)
	}
	q.Close()
	m.SyncAll()
	var dropped []string
	for name := range saved {
		if _, err := m.Stat(filepath.Join("/q", name)); err != nil {
			dropped = append(dropped, name)
		}
	}
	slices.Sort(dropped)
	if len(dropped) < 2 {
		t.Fatalf("compaction dropped %d segments; the test needs more", len(dropped))
	}
	dropped = dropped[:min(len(dropped), 6)]
	for mask := 0; mask < 1<<len(dropped); mask++ {
		c := m.Crash(1)
		for i, name := range dropped {
			if mask&(1<<i) != 0 {
				vfs.WriteFile(c, filepath.Join("/q", name), saved[name], 0o600)
			}
		}
		q, err := Open("/q", &Options{FS: c, SegmentSize: 4096})
		if err != nil {
			t.Fatalf("kept %b: Open: %v", mask, err)
		}
		st, err := q.Stats()
		q.Close()
		if err != nil || st != (Stats{Ready: 10}) {
			t.Fatalf("kept %b: stats %+v %v, want 10 ready", mask, st, err)
		}
	}
}
