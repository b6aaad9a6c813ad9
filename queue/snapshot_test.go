package queue

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/vfs"
)

// randomState applies n random events to a new state, as a writer would
// decide them (so that they fit), and returns it.
func randomState(r *rand.Rand, n int) *state {
	s := newState()
	s.fresh = false
	now := int64(1000)
	for range n {
		now += int64(r.IntN(10))
		var e event
		live := s.liveIDs()
		switch k := r.IntN(10); {
		case k < 4 || len(live) == 0:
			e = event{Kind: kindPush, Payload: []byte("p")}
		case k < 6:
			e = event{Kind: kindLease, ID: live[r.IntN(len(live))], Time: now + int64(r.IntN(50)), Attempts: uint64(r.IntN(4) + 1)}
		case k == 6:
			e = event{Kind: kindAck, ID: live[r.IntN(len(live))]}
		case k == 7:
			e = event{Kind: kindNack, ID: live[r.IntN(len(live))], Time: int64(r.IntN(2)) * now}
		case k == 8:
			e = event{Kind: kindDead, ID: live[r.IntN(len(live))], Reason: reasonNacked}
		default:
			e = event{Kind: kindRetry, ID: live[r.IntN(len(live))], Time: 0}
		}
		s.applyEvent(s.seen, &e)
		s.seen++
	}
	return s
}

func (s *state) liveIDs() []ID {
	var ids []ID
	s.each(func(m *slot) bool {
		ids = append(ids, m.id)
		return true
	})
	return ids
}

// The snapshot of any state decodes to the same state.
func TestSnapshotRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	logID := [16]byte{1, 2, 3}
	for i := range 300 {
		s := randomState(r, r.IntN(200))
		s.sum = r.Uint32()
		b := s.encodeSnapshot(logID)
		id, got, err := decodeSnapshot(b)
		if err != nil {
			t.Fatalf("state %d: %v", i, err)
		}
		if id != logID || got.sum != s.sum || got.describe() != s.describe() {
			t.Fatalf("state %d: decoded\n%s\nwant\n%s", i, got.describe(), s.describe())
		}
		// Every message counts, and none may be dropped unnoticed.
		if len(b) > snapHeader+4 {
			for _, cut := range []int{snapHeader, len(b) - 5, len(b) - 1} {
				if _, _, err := decodeSnapshot(b[:cut]); !errors.Is(err, durable.ErrCorrupt) {
					t.Fatalf("state %d cut at %d of %d: %v", i, cut, len(b), err)
				}
			}
		}
	}
}

// FuzzDecodeSnapshot: the decoder never panics, refuses with ErrCorrupt,
// and what it accepts encodes to a snapshot that decodes to the same
// state.
func FuzzDecodeSnapshot(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		f.Add(randomState(r, r.IntN(40)).encodeSnapshot([16]byte{9}))
	}
	f.Add(newState().encodeSnapshot([16]byte{}))
	f.Add([]byte("durqsnap"))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, s, err := decodeSnapshot(data)
		if err != nil {
			if !errors.Is(err, durable.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		again := s.encodeSnapshot(id)
		id2, s2, err := decodeSnapshot(again)
		if err != nil {
			t.Fatalf("re-encoded snapshot refused: %v", err)
		}
		if id2 != id || s2.seen != s.seen || s2.base != s.base || s2.sum != s.sum || s2.describe() != s.describe() {
			t.Fatalf("re-encoded snapshot differs:\n%s\n%s", s.describe(), s2.describe())
		}
	})
}

// snapWork runs random work on two handles of one queue (as two processes
// would), calling check after every operation.
func snapWork(t *testing.T, seed uint64, ops int, check func(step int, op string, m *vfs.MemFS, qs []*Queue)) {
	r := rand.New(rand.NewPCG(seed, 7))
	m := vfs.NewMem()
	c := newClock()
	o := &Options{FS: m, SegmentSize: 4096, CompactRecords: 8 + r.IntN(40), MaxAttempts: 3, Now: c.Now}
	q1, err := Open("/q", o)
	if err != nil {
		t.Fatal(err)
	}
	defer q1.Close()
	q2, err := Open("/q", o)
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	var held []Msg
	for step := range ops {
		q := []*Queue{q1, q2}[r.IntN(2)]
		var op string
		var err error
		switch k := r.IntN(12); {
		case k < 3:
			op = "push"
			ps := make([][]byte, 1+r.IntN(3))
			for i := range ps {
				ps[i] = fmt.Appendf(nil, "m%d-%d", step, i)
			}
			_, err = q.PushBatch(bg, ps)
		case k < 6:
			op = "pop"
			var m Msg
			var ok bool
			if m, ok, err = q.TryPop(bg, time.Duration(1+r.IntN(3))*time.Minute); ok {
				held = append(held, m)
			}
		case k < 10 && len(held) > 0:
			i := r.IntN(len(held))
			h := held[i]
			held = append(held[:i], held[i+1:]...)
			switch k {
			case 6, 7:
				op, err = "ack", q.Ack(bg, h.Receipt())
			case 8:
				op, err = "nack", q.Nack(bg, h.Receipt(), time.Duration(r.IntN(2))*time.Minute)
			default:
				op, err = "extend", q.Extend(bg, h.Receipt(), time.Minute)
				held = append(held, h)
			}
			if errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrLeaseExpired) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotLeased) {
				err = nil
			}
		case k == 10:
			op = "time"
			c.Advance(time.Duration(r.IntN(3)) * time.Minute)
		default:
			op = "dead letters"
			var ds []DeadMsg
			if ds, err = q.Dead(); err == nil && len(ds) > 0 {
				if r.IntN(2) == 0 {
					err = q.Retry(bg, ds[0].ID)
				} else {
					_, err = q.Purge(bg, ds[0].ID)
				}
			}
			if err == nil && r.IntN(3) == 0 {
				op = "compact"
				err = q.Compact(bg)
			}
		}
		if err != nil {
			t.Fatalf("seed %d step %d (%s): %v", seed, step, op, err)
		}
		check(step, op, m, []*Queue{q1, q2})
	}
}

// Differential: over random work, after every operation, the state a new
// Open builds from the snapshot and the journal's tail equals the one a
// full replay of the journal builds, and the one each running handle has
// once caught up.
func TestSnapshotMatchesReplay(t *testing.T) {
	seeds, ops := 6, 300
	if testing.Short() || raceOn {
		seeds, ops = 2, 150
	}
	used := 0
	for seed := range uint64(seeds) {
		snapWork(t, seed, ops, func(step int, op string, m *vfs.MemFS, qs []*Queue) {
			if err := sameAsReplay(m, "/q"); err != nil {
				t.Fatalf("seed %d step %d (%s): %v", seed, step, op, err)
			}
			full, _, err := stateOf(m, "/q", true)
			if err != nil {
				t.Fatal(err)
			}
			for i, q := range qs {
				if err := q.refresh(); err != nil {
					t.Fatal(err)
				}
				q.mu.Lock()
				desc := q.st.describe()
				q.mu.Unlock()
				ps, err := q.livePayloads()
				if err != nil {
					t.Fatal(err)
				}
				if got := desc + strings.Join(ps, "\n"); got != full {
					t.Fatalf("seed %d step %d (%s): handle %d has\n%s\nfull replay\n%s", seed, step, op, i, got, full)
				}
			}
			if _, err := m.Stat("/q/" + SnapshotName); err == nil {
				used++
			}
		})
	}
	if used == 0 {
		t.Fatal("no snapshot was ever written: the test compares nothing")
	}
}

// A snapshot never covers a record a power cut can take back: taken
// right after a Pop (whose lease is written, not flushed), it waits for a
// flush, so that the state after a cut that loses the lease still opens
// from the snapshot, unreported, to what a full replay gives.
func TestSnapshotNotBeforeFlush(t *testing.T) {
	m := vfs.NewMem()
	q, err := Open("/q", &Options{FS: m, SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for i := range 5 {
		if _, err := q.Push(bg, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := q.TryPop(bg, time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := q.writeSnapshot(bg); err != nil {
		t.Fatal(err)
	}
	if err := sameAsReplay(m.Crash(0), "/q"); err != nil {
		t.Fatalf("after a power cut that lost the lease: %v", err)
	}
	// Once flushed, the lease is in the snapshot.
	if _, err := q.Push(bg, []byte("flush")); err != nil {
		t.Fatal(err)
	}
	if err := q.writeSnapshot(bg); err != nil {
		t.Fatal(err)
	}
	b, err := readSnapshot(m, "/q/"+SnapshotName)
	if err != nil {
		t.Fatal(err)
	}
	_, s, err := decodeSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.live != 6 || s.get(0).state() != stateLeased {
		t.Fatalf("snapshot after the flush:\n%s", s.describe())
	}
	if err := sameAsReplay(m.Crash(0), "/q"); err != nil {
		t.Fatal(err)
	}
}

// snapQueue returns a queue directory with a snapshot and records after
// it, and its state as a full replay gives it.
func snapQueue(t *testing.T) (*vfs.MemFS, string) {
	m := vfs.NewMem()
	q, err := Open("/q", &Options{FS: m, SegmentSize: 4096, CompactRecords: 8})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if _, err := q.Push(bg, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			msg, _, err := q.TryPop(bg, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				err = q.Ack(bg, msg.Receipt())
			} else {
				err = q.Nack(bg, msg.Receipt(), 0)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := q.Push(bg, []byte("tail")); err != nil { // after the last snapshot
		t.Fatal(err)
	}
	q.Close()
	full, _, err := stateOf(m, "/q", true)
	if err != nil {
		t.Fatal(err)
	}
	return m, full
}

// A damaged snapshot, or one from another history, is never trusted: the
// state is rebuilt from the journal, OnRecover is told (ErrCorrupt, the
// path), and a damaged file is kept as evidence. One that is merely older
// than the retained records is rebuilt from them without a report.
func TestSnapshotDamaged(t *testing.T) {
	snapPath := "/q/" + SnapshotName
	cases := []struct {
		name    string
		damage  func(t *testing.T, m *vfs.MemFS)
		report  string // "" when no report is due
		evident bool   // kept as .corrupt
	}{
		{"flipped byte", func(t *testing.T, m *vfs.MemFS) {
			b := readAll(t, m, snapPath)
			b[len(b)/2] ^= 0x10
			writeAll(t, m, snapPath, b)
		}, "checksum", true},
		{"truncated", func(t *testing.T, m *vfs.MemFS) {
			b := readAll(t, m, snapPath)
			writeAll(t, m, snapPath, b[:len(b)-3])
		}, "checksum", true},
		{"empty", func(t *testing.T, m *vfs.MemFS) { writeAll(t, m, snapPath, nil) }, "not a queue snapshot", true},
		{"other version", func(t *testing.T, m *vfs.MemFS) {
			b := readAll(t, m, snapPath)
			b[8] = 2
			writeAll(t, m, snapPath, b)
		}, "version 2", true},
		{"another journal", func(t *testing.T, m *vfs.MemFS) {
			other, _ := snapQueue(t)
			writeAll(t, m, snapPath, readAll(t, other, snapPath))
		}, "another journal", true},
		{"another history", func(t *testing.T, m *vfs.MemFS) {
			b := readAll(t, m, snapPath)
			_, s, err := decodeSnapshot(b)
			if err != nil {
				t.Fatal(err)
			}
			s.sum++
			writeAll(t, m, snapPath, s.encodeSnapshot(logIDOf(t, m)))
		}, "another history", true},
		{"ahead of the journal", func(t *testing.T, m *vfs.MemFS) {
			_, s, err := decodeSnapshot(readAll(t, m, snapPath))
			if err != nil {
				t.Fatal(err)
			}
			s.seen += 100
			writeAll(t, m, snapPath, s.encodeSnapshot(logIDOf(t, m)))
		}, "has fewer", true},
		{"a directory", func(t *testing.T, m *vfs.MemFS) {
			if err := m.Remove(snapPath); err != nil {
				t.Fatal(err)
			}
			if err := m.Mkdir(snapPath, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "reading the state snapshot", false},
		{"missing", func(t *testing.T, m *vfs.MemFS) {
			if err := m.Remove(snapPath); err != nil {
				t.Fatal(err)
			}
		}, "", false},
		{"older than the retained records", func(t *testing.T, m *vfs.MemFS) {
			b := readAll(t, m, snapPath)
			q, err := Open("/q", &Options{FS: m, SegmentSize: 4096, MaxAttempts: -1})
			if err != nil {
				t.Fatal(err)
			}
			// Drain, compact (dropping the records the snapshot ends
			// with), push more, and put the old snapshot back, as a
			// crash between the drop and the new snapshot leaves it.
			for {
				msg, ok, err := q.TryPop(bg, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				if err := q.Ack(bg, msg.Receipt()); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Compact(bg); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if _, err := q.Push(bg, fmt.Appendf(nil, "later %d", i)); err != nil {
					t.Fatal(err)
				}
			}
			q.Close()
			writeAll(t, m, snapPath, b)
		}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, _ := snapQueue(t)
			c.damage(t, m)
			full, _, err := stateOf(m, "/q", true)
			if err != nil {
				t.Fatal(err)
			}
			got, reports, err := stateOf(m, "/q", false)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			if got != full {
				t.Fatalf("state:\n%s\nfull replay:\n%s", got, full)
			}
			if c.report == "" {
				if len(reports) != 0 {
					t.Fatalf("reported %v", reports)
				}
				return
			}
			if len(reports) != 1 || !strings.Contains(reports[0].Error(), c.report) || !strings.Contains(reports[0].Error(), filepath.FromSlash("/q")) {
				t.Fatalf("reports %v, want one saying %q and naming the queue", reports, c.report)
			}
			if c.name != "a directory" && !errors.Is(reports[0], durable.ErrCorrupt) {
				t.Fatalf("report %v does not wrap ErrCorrupt", reports[0])
			}
			// stateOf worked on a copy: do it here to see what is kept.
			var told []error
			q, err := Open("/q", &Options{FS: m, SegmentSize: 4096, OnRecover: func(err error) { told = append(told, err) }})
			if err != nil {
				t.Fatal(err)
			}
			q.Close()
			_, err = m.Stat(snapPath + ".corrupt")
			if c.evident != (err == nil) {
				t.Fatalf("kept as evidence: %v, want %v", err == nil, c.evident)
			}
			// The next Open finds a good snapshot, or none: told no more.
			told = nil
			if q, err = Open("/q", &Options{FS: m, SegmentSize: 4096, OnRecover: func(err error) { told = append(told, err) }}); err != nil {
				t.Fatal(err)
			}
			q.Close()
			if c.name != "a directory" && len(told) != 0 {
				t.Fatalf("told again: %v", told)
			}
		})
	}
}

func readAll(t *testing.T, m *vfs.MemFS, name string) []byte {
	t.Helper()
	b, err := readSnapshot(m, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeAll(t *testing.T, m *vfs.MemFS, name string, b []byte) {
	t.Helper()
	if err := durable.WriteFile(name, b, 0o600, durable.WithFS(m)); err != nil {
		t.Fatal(err)
	}
}

func logIDOf(t *testing.T, m *vfs.MemFS) [16]byte {
	t.Helper()
	q, err := Open("/q", &Options{FS: m, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	return q.j.LogID()
}

func TestIsSnapshotName(t *testing.T) {
	for name, want := range map[string][2]bool{
		SnapshotName:                  {true, false},
		SnapshotName + ".corrupt":     {true, true},
		"queue.snapshot.corrupt.1":    {false, false},
		"00000000000000000000.seg":    {false, false},
		"." + SnapshotName + ".x.tmp": {false, false},
	} {
		ok, kept := IsSnapshotName(name)
		if ok != want[0] || kept != want[1] {
			t.Errorf("IsSnapshotName(%q) = %v, %v, want %v", name, ok, kept, want)
		}
	}
}
