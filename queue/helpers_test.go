package queue

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable/vfs"
)

var bg = context.Background()

// clock is a fake clock tests move by hand.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// ledger records what the workload was told: pushes and acks that
// returned success, and every push and ack attempted.
type ledger struct {
	mu       sync.Mutex
	pushed   map[string]bool // Push returned
	tried    map[string]bool // Push called
	acked    map[string]bool // Ack (or Purge) returned: gone for good
	ackTried map[string]bool // Ack (or Purge) called
}

func newLedger() *ledger {
	return &ledger{pushed: map[string]bool{}, tried: map[string]bool{}, acked: map[string]bool{}, ackTried: map[string]bool{}}
}

func (l *ledger) snapshot() *ledger {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &ledger{pushed: clone(l.pushed), tried: clone(l.tried), acked: clone(l.acked), ackTried: clone(l.ackTried)}
}

func clone(m map[string]bool) map[string]bool {
	c := make(map[string]bool, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (l *ledger) mark(m map[string]bool, ps ...string) {
	l.mu.Lock()
	for _, p := range ps {
		m[p] = true
	}
	l.mu.Unlock()
}

// drain opens the queue in a state, with a clock far ahead (so every lease
// has ended) and no attempt limit, and returns every live message's
// payload, delivered or dead.
func drain(fsys vfs.FS, dir string) (live []string, err error) {
	c := newClock()
	c.Advance(1000 * time.Hour)
	q, err := Open(dir, &Options{FS: fsys, MaxAttempts: -1, Now: c.Now, SegmentSize: 4096})
	if err != nil {
		return nil, err
	}
	defer q.Close()
	for {
		m, ok, err := q.TryPop(bg, time.Hour)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		live = append(live, string(m.Payload))
	}
	ds, err := q.Dead()
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		live = append(live, string(d.Payload))
	}
	return live, nil
}

// checkFilesAndCut checks the invariant in what m holds as it is and after
// a power cut of it.
func checkFilesAndCut(t *testing.T, m *vfs.MemFS, l *ledger, where string) {
	t.Helper()
	for i, fsys := range []*vfs.MemFS{m, m.Crash(0)} {
		live, err := drain(fsys, "/q")
		if err != nil {
			t.Fatalf("%s (power cut %v): reopen: %v", where, i == 1, err)
		}
		if err := checkLive(live, l); err != nil {
			t.Fatalf("%s (power cut %v): %v", where, i == 1, err)
		}
	}
}

// checkLive checks the invariant against what a reopened queue holds:
// nothing never pushed, nothing twice, nothing acknowledged, and every
// acknowledged push that was not (maybe) acknowledged since.
func checkLive(live []string, l *ledger) error {
	seen := map[string]bool{}
	for _, p := range live {
		switch {
		case !l.tried[p]:
			return fmt.Errorf("message %q was never pushed", p)
		case seen[p]:
			return fmt.Errorf("message %q is live twice", p)
		case l.acked[p]:
			return fmt.Errorf("message %q was acknowledged but is delivered again", p)
		}
		seen[p] = true
	}
	var lost []string
	for p := range l.pushed {
		if !seen[p] && !l.ackTried[p] {
			lost = append(lost, p)
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		return fmt.Errorf("%d acknowledged pushes lost: %q", len(lost), lost)
	}
	return nil
}

// workload pushes, pops, acks, nacks, lets leases expire, extends, moves
// messages to the dead letters and back, and compacts, on a small segment
// size so that segments rotate and are dropped. It stops at the first error
// and returns it (a fault), or nil.
func workload(fsys vfs.FS, l *ledger, c *clock, n int) error {
	q, err := Open("/q", &Options{FS: fsys, SegmentSize: 4096, CompactRecords: 24, MaxAttempts: 2, Now: c.Now})
	if err != nil {
		return err
	}
	defer q.Close()
	// A second handle, as a second process would have: it catches up with
	// the first one's events under the lock, and after its compactions
	// (which drop records it has not read) rebuilds its state.
	q2, err := Open("/q", &Options{FS: fsys, SegmentSize: 4096, CompactRecords: 24, MaxAttempts: 2, Now: c.Now})
	if err != nil {
		return err
	}
	defer q2.Close()
	qs := []*Queue{q, q2}
	pl := func(k int) string {
		return fmt.Sprintf("msg-%03d-%s", k, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"[:k%37])
	}
	push := func(ks ...int) error {
		var ps [][]byte
		var ss []string
		for _, k := range ks {
			ps = append(ps, []byte(pl(k)))
			ss = append(ss, pl(k))
		}
		l.mark(l.tried, ss...)
		var err error
		if len(ps) == 1 {
			_, err = q.Push(bg, ps[0])
		} else {
			_, err = q.PushBatch(bg, ps)
		}
		if err == nil {
			l.mark(l.pushed, ss...)
		}
		return err
	}
	ack := func(m Msg) error {
		l.mark(l.ackTried, string(m.Payload))
		err := q2.Ack(bg, m.Receipt())
		if err == nil {
			l.mark(l.acked, string(m.Payload))
		}
		return err
	}
	for k := 0; k < n; k++ {
		if k%5 == 3 {
			if err := push(1000+k, 2000+k, 3000+k); err != nil {
				return err
			}
		} else if err := push(k); err != nil {
			return err
		}
		m, ok, err := qs[k%2].TryPop(bg, time.Minute)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		switch k % 6 {
		case 0, 2, 4:
			err = ack(m)
		case 1:
			err = q.Nack(bg, m.Receipt(), 0)
		case 3:
			// the lease expires: the next pop may take it again
			c.Advance(2 * time.Minute)
		case 5:
			if err = q.Extend(bg, m.Receipt(), time.Minute); err == nil {
				err = ack(m)
			}
		}
		if err != nil {
			return err
		}
		if k%9 == 8 {
			ds, err := q.Dead()
			if err != nil {
				return err
			}
			if len(ds) > 0 {
				if err := q.Retry(bg, ds[0].ID); err != nil {
					return err
				}
			}
		}
	}
	// Drain what is left, acking everything, so compaction shrinks it.
	c.Advance(time.Hour)
	for {
		m, ok, err := q.TryPop(bg, time.Minute)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := ack(m); err != nil {
			return err
		}
	}
	ds, err := q.Dead()
	if err != nil {
		return err
	}
	for _, d := range ds {
		l.mark(l.ackTried, string(d.Payload))
	}
	if _, err := q.Purge(bg); err != nil {
		return err
	}
	for _, d := range ds {
		l.mark(l.acked, string(d.Payload))
	}
	return q.Compact(bg)
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(bg, d)
}

// livePayloads returns the payloads of every live message (ready,
// delayed, leased or dead), in ID order, as this process's state has them.
func (q *Queue) livePayloads() ([]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var live []string
	var err error
	q.st.each(func(m *slot) bool {
		var p []byte
		if p, err = q.payload(m); err != nil {
			return false
		}
		live = append(live, string(p))
		return true
	})
	return live, err
}

// describe returns the state's live messages and how far it has read, in
// a form two states can be compared in: what the snapshot and a full replay
// must agree on.
func (s *state) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seen %d, %d live, %d dead\n", s.seen, s.live, s.nDead)
	s.each(func(m *slot) bool {
		fmt.Fprintf(&b, "%d at %d: state %d, time %d, attempts %d\n", m.id, m.loc, m.state(), m.at, m.attempts())
		return true
	})
	return b.String()
}

// stateOf opens the queue in dir on a copy of fsys (with everything it
// holds, synced or not), without its snapshot when noSnap, and returns its
// state as describe gives it, with every live payload, and what
// Options.OnRecover was told.
func stateOf(fsys *vfs.MemFS, dir string, noSnap bool) (desc string, reports []error, err error) {
	c := fsys.Crash(1)
	if noSnap {
		if err := c.Remove(path.Join(dir, SnapshotName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", nil, err
		}
	}
	return openState(c, dir)
}

// openState opens the queue in dir and returns its state as describe
// gives it, with every live payload, and what Options.OnRecover was told.
func openState(fsys vfs.FS, dir string) (desc string, reports []error, err error) {
	q, err := Open(dir, &Options{FS: fsys, SegmentSize: 4096, OnRecover: func(err error) { reports = append(reports, err) }})
	if err != nil {
		return "", reports, err
	}
	defer q.Close()
	q.mu.Lock()
	desc = q.st.describe()
	q.mu.Unlock()
	ps, err := q.livePayloads()
	if err != nil {
		return "", reports, err
	}
	return desc + strings.Join(ps, "\n"), reports, nil
}

// sameAsReplayDir is sameAsReplay for a queue on the real filesystem,
// which no process may be writing: it works on two copies of dir.
func sameAsReplayDir(dir string) error {
	var states [2]string
	for i := range states {
		c, err := os.MkdirTemp(filepath.Dir(dir), "copy-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(c)
		if err := os.CopyFS(c, os.DirFS(dir)); err != nil {
			return err
		}
		if i == 1 {
			if err := os.Remove(filepath.Join(c, SnapshotName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		desc, reports, err := openState(vfs.OS{}, c)
		if err != nil {
			return fmt.Errorf("open (copy %d): %w", i, err)
		}
		if len(reports) > 0 {
			return fmt.Errorf("open (copy %d) reported %v", i, reports)
		}
		states[i] = desc
	}
	if states[0] != states[1] {
		return fmt.Errorf("state from the snapshot and its tail:\n%s\nstate from a full replay:\n%s", states[0], states[1])
	}
	return nil
}

// sameAsReplay checks that the queue in dir opens from its snapshot and
// its tail to the very state a full replay of the journal gives, and that
// nothing was reported: a crash never leaves a snapshot that the journal
// does not confirm.
func sameAsReplay(fsys *vfs.MemFS, dir string) error {
	snap, reports, err := stateOf(fsys, dir, false)
	if err != nil {
		return fmt.Errorf("open with the snapshot: %w", err)
	}
	if len(reports) > 0 {
		return fmt.Errorf("open with the snapshot reported %v", reports)
	}
	full, _, err := stateOf(fsys, dir, true)
	if err != nil {
		return fmt.Errorf("open without the snapshot: %w", err)
	}
	if snap != full {
		return fmt.Errorf("state from the snapshot and its tail:\n%s\nstate from a full replay:\n%s", snap, full)
	}
	return nil
}
