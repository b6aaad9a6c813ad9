package queue

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/vfs"
)

// TestPeersShareCompaction: handles that take turns on one directory (as
// processes do) compact and write snapshots about as often as one handle
// doing the same work alone, not once each. A handle learns of another's
// compaction from its move events, and of another's snapshot (and how far
// its compaction dropped records) from the snapshot file's header; and a
// compaction that dropped nothing writes no snapshot of its own. Before,
// each handle compacted, and wrote a snapshot, on its own count of
// records: 4 processes of 4 goroutines wrote 3.6 times as many snapshots
// per message as 1 process of 16, each a write, an fsync, a rename and a
// directory fsync. The work ends with the state of the journal's replay.
func TestPeersShareCompaction(t *testing.T) {
	const msgs, ahead = 600, 8
	run := func(handles int) (snaps, drops int64) {
		m := vfs.NewMem()
		var nSnap, nDrop atomic.Int64
		m.SetHook(func(op vfs.Op, name string) {
			switch {
			case op == vfs.OpRename && isSnapshot(name):
				nSnap.Add(1)
			case op == vfs.OpRemove && isDroppedSegment(name):
				nDrop.Add(1)
			}
		})
		c := newClock()
		var qs []*Queue
		for range handles {
			q, err := Open("/q", &Options{FS: m, Now: c.Now, CompactRecords: 64, SegmentSize: 4096})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			qs = append(qs, q)
		}
		ctx := context.Background()
		// Each step by the next handle, with a few messages pushed
		// ahead, so that each compaction has messages to move.
		for i := range msgs + ahead {
			if i < msgs {
				if _, err := qs[i%handles].Push(ctx, fmt.Appendf(nil, "m%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			if i < ahead {
				continue
			}
			msg, err := qs[(i+1)%handles].Pop(ctx, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if err := qs[(i+2)%handles].Ack(ctx, msg.Receipt()); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range qs {
			st, err := q.Stats()
			if err != nil || st != (Stats{}) {
				t.Fatalf("stats %+v, %v: want an empty queue", st, err)
			}
		}
		m.SetHook(nil)
		if err := sameAsReplay(m, "/q"); err != nil {
			t.Fatal(err)
		}
		return nSnap.Load(), nDrop.Load()
	}
	s1, d1 := run(1)
	s4, d4 := run(4)
	t.Logf("snapshots written: %d by one handle, %d by four; segments dropped: %d, %d", s1, s4, d1, d4)
	if s1 == 0 || d1 == 0 || d4 == 0 {
		t.Fatal("the work should write snapshots and drop segments")
	}
	if s4 > s1+s1/2+1 {
		t.Errorf("four handles wrote %d snapshots for the work one handle did with %d", s4, s1)
	}
}

// isSnapshot reports whether a rename's name is the snapshot's, with the
// platform's separators.
func isSnapshot(name string) bool { return filepath.Base(name) == SnapshotName }

// isDroppedSegment reports whether a removed name is a dropped segment:
// the segment itself, or on Windows the tombstone it is renamed to first
// (journal/remove_windows.go).
func isDroppedSegment(name string) bool {
	b := filepath.Base(name)
	return strings.HasSuffix(b, ".seg") || strings.HasPrefix(b, ".dropped.") && strings.HasSuffix(b, ".seg.tmp")
}

// TestCompactionDueOnce: a compaction that fell due in two handles at
// once runs in one: the second finds, under the lock, the first one's
// moves, and writes nothing (no moves, no drop, no snapshot). Compact,
// asked for, still compacts.
func TestCompactionDueOnce(t *testing.T) {
	m := vfs.NewMem()
	c := newClock()
	o := &Options{FS: m, Now: c.Now, CompactRecords: 64}
	a, err := Open("/q", o)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open("/q", o)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	qs := []*Queue{a, b}
	// 40 pushed, 30 of them acked: 100 records, 10 live messages to move.
	for i := range 40 {
		if _, err := qs[i%2].Push(ctx, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		msg, err := qs[i%2].Pop(ctx, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := qs[(i+1)%2].Ack(ctx, msg.Receipt()); err != nil {
			t.Fatal(err)
		}
	}
	// Both handles are caught up and count the same records since the
	// last compaction they know of (set back to none, as when both last
	// compacted long ago): each would compact.
	for _, q := range qs {
		if _, err := q.Stats(); err != nil {
			t.Fatal(err)
		}
		q.mu.Lock()
		q.st.lastCp, q.st.base = 0, 0
		q.mu.Unlock()
		if !q.compactDue() {
			t.Fatal("the work should make a compaction due")
		}
	}
	if err := a.compact(ctx, true); err != nil {
		t.Fatal(err)
	}
	size := a.j.Size()
	var snaps atomic.Int64
	m.SetHook(func(op vfs.Op, name string) {
		if op == vfs.OpRename && isSnapshot(name) {
			snaps.Add(1)
		}
	})
	if !b.compactDue() {
		t.Fatal("b has not seen a's compaction yet: it should think one due")
	}
	if err := b.compact(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stats(); err != nil {
		t.Fatal(err)
	}
	if got := b.j.Size(); got != size || snaps.Load() != 0 {
		t.Fatalf("the second compaction wrote %d records and %d snapshots: want none", got-size, snaps.Load())
	}
	if b.compactDue() {
		t.Fatal("b should know of a's compaction now")
	}
	// Asked for, a compaction runs whether due or not.
	if err := b.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stats(); err != nil {
		t.Fatal(err)
	}
	if got := b.j.Size(); got != size+10 {
		t.Fatalf("Compact wrote %d records, want the 10 live messages' moves", got-size)
	}
	m.SetHook(nil)
	if err := sameAsReplay(m, "/q"); err != nil {
		t.Fatal(err)
	}
}

// TestPeersSnapshotSkew: handles that share a directory count the same
// records, so their periodic snapshots fall due at once, before any of
// them could see another's (4 processes of 4 goroutines still wrote 2.5
// times the snapshots per message of 1 process of 16 with peerSnapshot
// alone, 2.0 with the skew). A handle that has learnt of a peer's
// snapshot waits a skew of its own (up to CompactRecords/2 records) past
// the due point; one alone never waits.
func TestPeersSnapshotSkew(t *testing.T) {
	m := vfs.NewMem()
	o := &Options{FS: m, CompactRecords: 64}
	a, err := Open("/q", o)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	due := func(q *Queue, seen uint64) bool {
		q.mu.Lock()
		q.st.seen = seen
		q.mu.Unlock()
		return q.snapDue()
	}
	a.skew = 20
	if !due(a, 64) || due(a, 63) {
		t.Fatal("alone, a snapshot is due every CompactRecords records, without the skew")
	}
	// b writes a snapshot; a learns of it and, having a peer, skews.
	b, err := Open("/q", o)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	for range 70 {
		if _, err := b.Push(ctx, []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.writeSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Stats(); err != nil {
		t.Fatal(err)
	}
	if !a.peerSnapshot() || !a.peers {
		t.Fatal("a should learn of b's snapshot")
	}
	if a.snapSeen != 70 {
		t.Fatalf("a counts from %d, want b's snapshot's 70", a.snapSeen)
	}
	if due(a, 70+64+19) || !due(a, 70+64+20) {
		t.Fatal("with a peer, a's next snapshot is due its skew past CompactRecords after b's")
	}
}

// TestTurnTakesWaitingOperations: a batch that waited for the lock
// (another process held it) takes the flushed operations that queued in
// this process meanwhile into its write and flush, rather than leave them
// for a turn of their own after it.
func TestTurnTakesWaitingOperations(t *testing.T) {
	m := vfs.NewMem()
	a, err := Open("/q", &Options{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open("/q", &Options{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	// b holds the lock until told.
	held, release := make(chan struct{}), make(chan struct{})
	bdone := make(chan error, 1)
	go func() {
		bdone <- b.j.WithLock(ctx, func(*journal.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	var writes atomic.Int64
	m.SetHook(func(op vfs.Op, name string) {
		if op == vfs.OpWrite && strings.HasSuffix(name, ".seg") {
			writes.Add(1)
		}
	})
	// The first push leads a batch that waits for the lock; the other
	// three wait behind it, in a batch of their own.
	const n = 4
	errs := make(chan error, n)
	push := func() {
		_, err := a.Push(ctx, []byte("m"))
		errs <- err
	}
	go push()
	for a.g.Idle() {
		time.Sleep(time.Millisecond)
	}
	for range n - 1 {
		go push()
	}
	// They wait in a batch of their own once the leader's has closed,
	// which it does as soon as it starts (microseconds). Pushes that
	// came sooner joined it, and would not test anything.
	for deadline := time.Now().Add(5 * time.Second); a.g.Waiting() != n-1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			close(release)
			t.Skip("the pushes joined the first batch before it started")
		}
	}
	close(release)
	if err := <-bdone; err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	m.SetHook(nil)
	if w := writes.Load(); w != 1 {
		t.Fatalf("%d pushes took %d writes: want them in the one turn", n, w)
	}
}

// TestSkewSpread: processes get skews spread over [0, CompactRecords/2].
func TestSkewSpread(t *testing.T) {
	seen := map[uint64]bool{}
	for pid := 1000; pid < 1016; pid++ {
		s := skewFor(pid, 4096)
		if s > 2048 {
			t.Fatalf("pid %d: skew %d, past CompactRecords/2", pid, s)
		}
		seen[s] = true
	}
	if len(seen) < 12 {
		t.Fatalf("16 consecutive pids got %d distinct skews", len(seen))
	}
}
