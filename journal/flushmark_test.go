package journal

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// withLockFile creates /j/journal.lock on m, as the lock package does on
// the real filesystem, so that the flush mark is used.
func withLockFile(t *testing.T, m *vfs.MemFS) {
	t.Helper()
	if err := m.Mkdir("/j", 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := m.OpenFile("/j/journal.lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	m.SyncAll()
}

// twoHandles opens the journal at /j on m twice, as two processes would,
// each closed when the test ends.
func twoHandles(t *testing.T, m *vfs.MemFS, segmentSize int64) (a, b *Journal) {
	t.Helper()
	a = mustOpen(t, "/j", &Options{FS: m, SegmentSize: segmentSize})
	t.Cleanup(func() { a.Close() })
	b = mustOpen(t, "/j", &Options{FS: m, SegmentSize: segmentSize})
	t.Cleanup(func() { b.Close() })
	return a, b
}

// appendInTurns appends payload(0) to payload(n-1), a and b taking turns,
// as two processes writing one after the other.
func appendInTurns(t *testing.T, a, b *Journal, n int) {
	t.Helper()
	for k := range n {
		j := a
		if k%2 == 1 {
			j = b
		}
		if _, err := j.Append(bg, payload(k)); err != nil {
			t.Fatal(err)
		}
	}
}

// A writer catching up with another's flushed batches skips their flush
// when the mark names exactly where it caught up to, and flushes when it
// does not: after an unflushed batch, and when the mark is damaged.
func TestFlushMarkSkipsOnlyKnownFlushes(t *testing.T) {
	m := vfs.NewMem()
	withLockFile(t, m)
	a := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 64 << 10})
	defer a.Close()
	probe := vfs.Inject(m, vfs.Fault{Ops: vfs.OpSync})
	b := mustOpen(t, "/j", &Options{FS: probe, SegmentSize: 64 << 10})
	defer b.Close()
	// b appends in a WithLock: its catch-up is its own, not left for a
	// shared flush (sharedflush_test.go tests those).
	appendB := func() int {
		t.Helper()
		before := probe.Count()
		if err := b.WithLock(bg, func(tx *Tx) error {
			_, err := tx.AppendFlushed([][]byte{payload(1)})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return probe.Count() - before
	}
	appendB() // b's first catch-up
	if _, err := a.Append(bg, payload(0)); err != nil {
		t.Fatal(err)
	}
	if n := appendB(); n != 1 {
		t.Fatalf("after a flushed batch of another writer: %d flushes, want 1 (its own)", n)
	}
	// An unflushed batch: the mark names the place before it.
	if err := a.WithLock(bg, func(tx *Tx) error {
		_, err := tx.AppendUnflushed([][]byte{payload(2)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := appendB(); n != 2 {
		t.Fatalf("after an unflushed batch of another writer: %d flushes, want 2 (the catch-up's and its own)", n)
	}
	// A damaged mark is not believed.
	if _, err := a.Append(bg, payload(3)); err != nil {
		t.Fatal(err)
	}
	f, err := m.OpenFile("/j/journal.lock", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff}, 9)
	f.Close()
	if n := appendB(); n != 2 {
		t.Fatalf("after a damaged mark: %d flushes, want 2", n)
	}
}

// Two writers take turns, with the mark in use: a crash at any step, in
// any way, loses no acknowledged record and leaves a log that recovers
// clean and the same way twice.
func TestCrashTwoWritersWithFlushMark(t *testing.T) {
	m := vfs.NewMem()
	withLockFile(t, m)
	r := newRecorder(m, crashSeeds)
	a := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 32 << 10})
	b := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 32 << 10})
	attempted := map[string]bool{}
	for k := range 40 {
		j := a
		if k%3 != 0 {
			j = b
		}
		p := payload(k)
		if k%7 == 3 {
			// Several sectors, so that a power cut can tear it apart
			// from the batch after it.
			p = append(p, bytes.Repeat([]byte{'u'}, 1500)...)
		}
		attempted[string(p)] = true
		if k%7 == 3 {
			if err := j.WithLock(bg, func(tx *Tx) error {
				_, err := tx.AppendUnflushed([][]byte{p})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			continue // not acknowledged as durable
		}
		if _, err := j.Append(bg, p); err != nil {
			t.Fatal(err)
		}
		r.ack(string(p))
	}
	a.Close()
	b.Close()
	states, _ := checkStates(t, r, attempted, false)
	t.Logf("%d crash states", states)
}

// flush.lock is made by the first handle that takes the journal's lock,
// under it, not by the first shared flush outside it: a lock file is
// linked into place from a temp name, and another process that opened it
// in that moment found two names and refused it (processes started
// together on a new log failed their first shared flushes so).
func TestFlushLockMadeUnderTheLock(t *testing.T) {
	dir := filepath.Join(testdir.New(t), "j")
	j := mustOpen(t, dir, nil)
	defer j.Close()
	if _, err := j.Append(bg, payload(1)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, flushLockName+lock.Suffix))
	if err != nil {
		t.Fatalf("after a lone append (no shared flush): %v", err)
	}
	if !fi.Mode().IsRegular() {
		t.Fatalf("flush.lock is %v", fi.Mode())
	}
}
