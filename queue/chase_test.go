package queue

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/vfs"
)

// writeGate calls before ahead of every write to a journal segment that a
// file it opened makes, so that a test can act while a turn of the lock
// writes its first batch.
type writeGate struct {
	vfs.FS
	before func()
}

func (g writeGate) Unwrap() vfs.FS { return g.FS }

func (g writeGate) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := g.FS.OpenFile(name, flag, perm)
	if err != nil || !strings.HasSuffix(name, ".seg") {
		return f, err
	}
	return gateFile{f, g.before}, nil
}

type gateFile struct {
	vfs.File
	before func()
}

func (f gateFile) WriteAt(p []byte, off int64) (int, error) {
	f.before()
	return f.File.WriteAt(p, off)
}

// chaseRounds makes a's acks follow its pops in their turn (chase): b
// pushes, so that a's next turn shares its flush; a's pop is then written
// while a's ack of the message it popped before waits in a's queue (the
// gate holds the pop's write until it does), and the turn writes that
// ack as its second batch, flushed with the first after the lock. a is
// on fsys (m, or a fault injector over it), b on m. Payloads of growing
// size put the two batches of some turns in different blocks. It returns
// the first error of a's operations (b's must not fail), and how many
// acks followed their pop in its turn.
func chaseRounds(t *testing.T, fsys vfs.FS, m *vfs.MemFS, l *ledger, rounds int) (chased int, err error) {
	t.Helper()
	c := newClock()
	var mu sync.Mutex
	var armed func()
	gate := writeGate{FS: fsys, before: func() {
		mu.Lock()
		f := armed
		armed = nil
		mu.Unlock()
		if f != nil {
			f()
		}
	}}
	a, err := Open("/q", sharedOpts(gate, c))
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := a.Close(); err == nil && cerr != nil && !errors.Is(cerr, durable.ErrClosed) {
			err = cerr
		}
	}()
	// Set before a is used by more than this goroutine.
	joined := make(chan struct{}, 1)
	a.g.Joined = func() {
		select {
		case joined <- struct{}{}:
		default:
		}
	}
	b, err := Open("/q", sharedOpts(m, c))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	push := func(q *Queue, p string) error {
		l.mark(l.tried, p)
		if _, err := q.Push(bg, []byte(p)); err != nil {
			return err
		}
		l.mark(l.pushed, p)
		return nil
	}
	if err := push(b, "m-000"); err != nil {
		t.Fatal(err)
	}
	prev, err := a.Pop(bg, time.Hour)
	if err != nil {
		return 0, err
	}
	for k := 1; k <= rounds; k++ {
		// Sizes that vary, so that the pop's and the ack's batches of
		// some turns lie in different blocks, as a power cut may keep
		// one and lose the other.
		if err := push(b, fmt.Sprintf("m-%03d-%s", k, strings.Repeat("x", 97*k))); err != nil {
			t.Fatal(err)
		}
		got := string(prev.Payload)
		r := prev.Receipt()
		done := make(chan struct{})
		var ackErr error
		launched := false
		mu.Lock()
		armed = func() {
			launched = true
			l.mark(l.ackTried, got)
			go func() {
				ackErr = a.Ack(bg, r)
				close(done)
			}()
			// The ack waits in a's queue (it joins a batch whose turn
			// has not come): the turn that writes the pop is running.
			select {
			case <-joined:
			case <-done: // it failed before it joined
			}
		}
		mu.Unlock()
		before := a.chased.Load()
		next, err := a.Pop(bg, time.Hour)
		mu.Lock()
		armed = nil // a pop that failed before its write
		mu.Unlock()
		if launched {
			<-done
			if ackErr == nil {
				l.mark(l.acked, got)
			}
		}
		if err != nil {
			return chased, err
		}
		if !launched {
			return chased, errors.New("the pop wrote nothing")
		}
		if ackErr != nil {
			return chased, ackErr
		}
		if a.chased.Load() > before {
			chased++
		}
		prev = next
	}
	return chased, nil
}

// Acks that follow pops in their turn, crashed at every step in every
// way: no acknowledged push or ack is lost, and every state opens.
func TestCrashChase(t *testing.T) {
	m := vfs.NewMem()
	withMarks(t, m)
	l := newLedger()
	finish := record(m, l)
	rounds := 8
	chased, err := chaseRounds(t, m, m, l, rounds)
	if err != nil {
		t.Fatal(err)
	}
	if chased < rounds/2 {
		t.Fatalf("%d of %d acks followed their pop in its turn: the test checks little of what it means to", chased, rounds)
	}
	states := finish()
	if t.Failed() {
		t.FailNow()
	}
	checkQueueStates(t, states)
	t.Logf("%d crash states checked", len(states))
}

// Every call of the handle whose acks follow its pops fails in turn: the
// error wraps its cause, the other handle goes on, and every acknowledged
// push and ack survives, also a power cut after it.
func TestFaultChase(t *testing.T) {
	base := vfs.NewMem()
	withMarks(t, base)
	total, surfaced := 0, 0
	for _, kind := range []vfs.Op{vfs.OpOpen, vfs.OpRead, vfs.OpWrite, vfs.OpSync, vfs.OpTruncate, vfs.OpStat} {
		m := base.Crash(1)
		probe := vfs.Inject(m, vfs.Fault{Ops: kind})
		if chased, err := chaseRounds(t, probe, m, newLedger(), 4); err != nil || chased < 2 {
			t.Fatalf("without faults: %v (%d acks followed their pop)", err, chased)
		}
		calls := probe.Count()
		stride := max(1, calls/100)
		if raceOn {
			stride = max(1, calls/10)
		}
		for n := 1; n <= calls; n += stride {
			for _, fl := range crashtest.FaultsAt(kind, n) {
				total++
				m := base.Crash(1)
				inj := vfs.Inject(m, fl.Fault)
				l := newLedger()
				_, err := chaseRounds(t, inj, m, l, 4)
				where := fmt.Sprintf("%s on %v call %d", fl.Label, kind, n)
				if inj.Fired() == 0 {
					t.Fatalf("%s: the fault never fired", where)
				}
				if err != nil {
					surfaced++
					if !errors.Is(err, fl.Want) {
						t.Fatalf("%s: error %v does not wrap %v", where, err, fl.Want)
					}
				}
				checkFilesAndCut(t, m, l, where)
			}
		}
	}
	if surfaced == 0 {
		t.Fatal("no fault surfaced")
	}
	t.Logf("%d faults, %d surfaced", total, surfaced)
}
