package journal

import (
	"slices"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// chainRounds runs rounds of two handles (two processes) taking turns: b
// appends, so that a's next turn finds its records and shares its flush;
// a then writes, in one turn of WithLockShared, a first batch (flushed,
// its flush left for after the lock, or unflushed) and two batches of
// AppendFlushedShared after it. Every payload of a turn is acknowledged
// when WithLockShared returns; the segment is small enough to rotate. It
// returns the payloads attempted.
func chainRounds(t *testing.T, m *vfs.MemFS, ack func(...string), rounds int) map[string]bool {
	t.Helper()
	opts := &Options{FS: m, SegmentSize: 4096}
	a := mustOpen(t, "/j", opts)
	defer a.Close()
	b := mustOpen(t, "/j", opts)
	defer b.Close()
	attempted := map[string]bool{}
	k := 0
	next := func() []byte {
		p := payload(k)
		k++
		attempted[string(p)] = true
		return p
	}
	shared := 0
	for round := range rounds {
		p := next()
		if _, err := b.Append(bg, p); err != nil {
			t.Fatal(err)
		}
		ack(string(p))
		var turn []string
		err := a.WithLockShared(bg, func(tx *Tx) error {
			if tx.SharesFlush() {
				shared++
			}
			first := [][]byte{next()}
			turn = append(turn, string(first[0]))
			if round%2 == 0 {
				if _, err := tx.AppendFlushed(first); err != nil {
					return err
				}
			} else if _, err := tx.AppendUnflushed(first); err != nil {
				return err
			}
			for range 2 {
				p := next()
				turn = append(turn, string(p))
				if _, err := tx.AppendFlushedShared([][]byte{p}, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		ack(turn...)
	}
	if shared == 0 {
		t.Fatal("no turn shared its flush: the test checks nothing it means to")
	}
	return attempted
}

// AppendFlushedShared leaves its flush for after the lock, behind a
// batch of its turn that waits for that flush (flushed later, or
// unflushed), and says so in its commit frame; a crash after
// WithLockShared returned keeps every batch.
func TestAppendFlushedSharedChains(t *testing.T) {
	m := vfs.NewMem()
	withLockFile(t, m)
	opts := &Options{FS: m, SegmentSize: 64 << 10}
	a := mustOpen(t, "/j", opts)
	defer a.Close()
	b := mustOpen(t, "/j", opts)
	defer b.Close()
	if _, err := a.Append(bg, payload(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(bg, payload(1)); err != nil {
		t.Fatal(err)
	}
	syncs := 0
	m.SetHook(func(op vfs.Op, _ string) {
		if op == vfs.OpSync {
			syncs++
		}
	})
	var underLock int
	err := a.WithLockShared(bg, func(tx *Tx) error {
		if !tx.SharesFlush() {
			t.Error("a turn after another process's append does not share its flush")
		}
		if _, err := tx.AppendFlushed([][]byte{payload(2)}); err != nil {
			return err
		}
		if !tx.Unflushed() {
			t.Error("the first flushed batch of a shared turn was flushed under the lock")
		}
		for k := 3; k < 5; k++ {
			if _, err := tx.AppendFlushedShared([][]byte{payload(k)}, nil); err != nil {
				return err
			}
		}
		underLock = syncs
		return nil
	})
	m.SetHook(nil)
	if err != nil {
		t.Fatal(err)
	}
	if underLock != 0 {
		t.Errorf("%d flushes under the lock, want none", underLock)
	}
	if syncs == 0 {
		t.Error("no flush after the lock")
	}
	if got, want := flagged(t, m, 0), []bool{false, false, false, true, true}; !slices.Equal(got, want) {
		t.Errorf("commit frames flagged %v, want %v", got, want)
	}
	// Alone (the last records are a's own): flushed under the lock.
	err = a.WithLockShared(bg, func(tx *Tx) error {
		if tx.SharesFlush() {
			t.Error("a turn alone shares its flush")
		}
		if _, err := tx.AppendFlushedShared([][]byte{payload(5)}, nil); err != nil {
			return err
		}
		if tx.Unflushed() {
			t.Error("AppendFlushedShared alone left its flush")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Crash(0)
	data, _, j, err := readAll(c, "/j", nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if len(data) != 6 {
		t.Errorf("after a crash that keeps only what was flushed: %d records, want 6", len(data))
	}
}

// The rounds above, crashed at every step in every way: no acknowledged
// record is lost, and every state a crash leaves opens (a chained batch
// kept while the batch before it was lost is a torn tail, not damage).
func TestCrashAppendFlushedShared(t *testing.T) {
	m := vfs.NewMem()
	withLockFile(t, m)
	r := newRecorder(m, 4)
	attempted := chainRounds(t, m, r.ack, 6)
	states, recovered := checkStates(t, r, attempted, false)
	t.Logf("%d crash states, %d cut a torn tail", states, recovered)
}
