package queue

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// Several handles on one queue directory stand for several processes:
// each has its own journal, lock handle and state, as a process has. On
// the in-memory model they share their flushes (journal.WithLockShared)
// only where the journal finds its marks, in the lock file: withMarks
// creates it, as the real filesystem's lock does.

// withMarks creates the queue directory and its journal's lock file in m,
// durably, so that the handles opened on it share their flushes.
func withMarks(t *testing.T, m *vfs.MemFS) {
	t.Helper()
	if err := m.Mkdir("/q", 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := m.OpenFile("/q/journal"+lock.Suffix, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	m.SyncAll()
}

// shared reports whether some handle left its flush for after the lock:
// only that writes the written mark, 64 bytes into the lock file
// (journal/flushmark.go).
func shared(m *vfs.MemFS) bool {
	b, err := vfs.ReadFile(m, "/q/journal"+lock.Suffix)
	return err == nil && len(b) > 64 && slices.ContainsFunc(b[64:], func(c byte) bool { return c != 0 })
}

// leases checks Pop's isolation: a message is handed to one consumer at a
// time while its lease lasts. The tests' clock does not move, so every
// lease lasts until its holder acks or nacks.
type leases struct {
	mu   sync.Mutex
	held map[string]bool
	errs []error
}

func newLeases() *leases { return &leases{held: map[string]bool{}} }

func (ls *leases) popped(p string) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.held[p] {
		ls.errs = append(ls.errs, fmt.Errorf("message %q handed to a second consumer within its lease", p))
	}
	ls.held[p] = true
}

// released is called before the Nack, and before a Pop that failed
// may have left a lease nobody holds: the message may come again.
func (ls *leases) released(p string) {
	ls.mu.Lock()
	delete(ls.held, p)
	ls.mu.Unlock()
}

func (ls *leases) err() error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return errors.Join(ls.errs...)
}

// sharedOpts are the handles' options: small segments and compactions,
// so that segments rotate and are dropped, and snapshots are written,
// while other handles write and share flushes.
func sharedOpts(fsys vfs.FS, c *clock) *Options {
	return &Options{FS: fsys, SegmentSize: 4096, CompactRecords: 24, MaxAttempts: -1, Now: c.Now}
}

// handleOps pushes, pops, acks and nacks on one handle, recording in l
// and ls. It returns the first error.
func handleOps(q *Queue, l *ledger, ls *leases, name string, n int) error {
	for k := range n {
		p := fmt.Sprintf("%s-%02d", name, k)
		l.mark(l.tried, p)
		if _, err := q.Push(bg, []byte(p)); err != nil {
			return err
		}
		l.mark(l.pushed, p)
		m, ok, err := q.TryPop(bg, time.Hour)
		if err != nil || !ok {
			return err
		}
		got := string(m.Payload)
		ls.popped(got)
		if k%4 == 3 {
			ls.released(got)
			if err := q.Nack(bg, m.Receipt(), 0); err != nil {
				return err
			}
			continue
		}
		l.mark(l.ackTried, got)
		if err := q.Ack(bg, m.Receipt()); err != nil {
			return err
		}
		l.mark(l.acked, got)
	}
	return nil
}

// Four handles of two goroutines each push, pop, ack and nack at once,
// sharing flushes, with segments rotating, compactions and snapshots; the
// model is crashed after every step in every way. In every state no
// acknowledged push is lost and no acknowledged message comes back; while
// they run, no message is leased twice at once.
func TestCrashSharedHandles(t *testing.T) {
	m := vfs.NewMem()
	withMarks(t, m)
	l := newLedger()
	ls := newLeases()
	c := newClock()
	var qs []*Queue
	for range 4 {
		q, err := Open("/q", sharedOpts(m, c))
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		qs = append(qs, q)
	}
	n := 7
	if raceOn {
		n = 4
	}
	finish := record(m, l)
	var wg sync.WaitGroup
	for h, q := range qs {
		for g := range 2 {
			wg.Go(func() {
				if err := handleOps(q, l, ls, fmt.Sprintf("h%dg%d", h, g), n); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	states := finish()
	if t.Failed() {
		t.FailNow()
	}
	if err := ls.err(); err != nil {
		t.Fatal(err)
	}
	if !shared(m) {
		t.Fatal("no handle shared a flush: the test checks nothing it means to")
	}
	checkQueueStates(t, states)
	t.Logf("%d crash states checked (%d seeds per step under each of %v)", len(states), crashSeeds, crashtest.Profiles())
}

// sharedFaultRun takes turns among four handles, the first of them on
// fsys (which fails), the others on m: each turn pushes on one handle and
// pops, then acks or nacks, on the next. Every flush of a handle that
// finds another's records is shared. It returns the faulty handle's
// errors; the others must not fail.
func sharedFaultRun(t *testing.T, fsys vfs.FS, m *vfs.MemFS, l *ledger, ls *leases) []error {
	t.Helper()
	c := newClock()
	var errs []error
	faulty, err := Open("/q", sharedOpts(fsys, c))
	if err != nil {
		return []error{err}
	}
	qs := []*Queue{faulty}
	for range 3 {
		q, err := Open("/q", sharedOpts(m, c))
		if err != nil {
			t.Fatalf("a handle that does not fail: %v", err)
		}
		qs = append(qs, q)
	}
	defer func() {
		for _, q := range qs[1:] {
			q.Close()
		}
	}()
	// ok sorts an error: the faulty handle's are collected, and the
	// others' fail the test.
	ok := func(h int, err error) bool {
		switch {
		case err == nil:
			return true
		case h == 0:
			errs = append(errs, err)
			return false
		}
		t.Fatalf("handle %d, which does not fail: %v", h, err)
		return false
	}
	for k := range 24 {
		h, h2 := k%4, (k+1)%4
		p := fmt.Sprintf("m-%02d", k)
		l.mark(l.tried, p)
		_, err := qs[h].Push(bg, []byte(p))
		if ok(h, err) {
			l.mark(l.pushed, p)
		}
		msg, found, err := qs[h2].TryPop(bg, time.Hour)
		if !ok(h2, err) || !found {
			continue
		}
		got := string(msg.Payload)
		ls.popped(got)
		if k%5 == 4 {
			ls.released(got)
			ok(h2, qs[h2].Nack(bg, msg.Receipt(), 0))
			continue
		}
		l.mark(l.ackTried, got)
		if ok(h2, qs[h2].Ack(bg, msg.Receipt())) {
			l.mark(l.acked, got)
		} else {
			// The lease stays, or its record was wiped with the
			// failed batch: the message may come again.
			ls.released(got)
		}
	}
	if err := faulty.Close(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// Every call of one of four handles fails in turn while the others go on
// sharing flushes with it: its errors wrap their cause, the others do not
// fail, no message is leased twice at once, and the invariant holds in
// the files left and after a power cut.
func TestFaultSharedHandles(t *testing.T) {
	base := vfs.NewMem()
	withMarks(t, base)
	kinds := []vfs.Op{vfs.OpOpen, vfs.OpRead, vfs.OpWrite, vfs.OpSync, vfs.OpTruncate, vfs.OpStat, vfs.OpRemove}
	total, surfaced := 0, 0
	for _, kind := range kinds {
		m := base.Crash(1)
		probe := vfs.Inject(m, vfs.Fault{Ops: kind})
		if errs := sharedFaultRun(t, probe, m, newLedger(), newLeases()); len(errs) > 0 {
			t.Fatalf("without faults: %v", errs)
		}
		if kind == vfs.OpSync && !shared(m) {
			t.Fatal("no handle shared a flush: the test checks nothing it means to")
		}
		// Every call: this workload makes fewer than 150 of each kind
		// (larger ones would be sampled to about 150, as the
		// journal's shared fault test is), and about 15 a kind under
		// the race detector.
		calls := probe.Count()
		stride := max(1, calls/150)
		if raceOn {
			stride = max(1, calls/15)
		}
		for n := 1; n <= calls; n += stride {
			for _, fl := range crashtest.FaultsAt(kind, n) {
				total++
				m := base.Crash(1)
				inj := vfs.Inject(m, fl.Fault)
				l, ls := newLedger(), newLeases()
				errs := sharedFaultRun(t, inj, m, l, ls)
				where := fmt.Sprintf("%s on %v call %d", fl.Label, kind, n)
				if inj.Fired() == 0 {
					t.Fatalf("%s: the fault never fired", where)
				}
				for _, err := range errs {
					if !errors.Is(err, fl.Want) {
						t.Fatalf("%s: error %v does not wrap %v", where, err, fl.Want)
					}
				}
				if len(errs) > 0 {
					surfaced++
				}
				if err := ls.err(); err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				checkFilesAndCut(t, m, l, where)
			}
		}
	}
	if surfaced == 0 {
		t.Fatal("no fault surfaced")
	}
	t.Logf("%d faults injected, %d surfaced as errors", total, surfaced)
}
