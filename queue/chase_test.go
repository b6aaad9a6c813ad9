package queue

import (
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

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
// ack as its second batch, flushed with the first after the lock. Most
// acks must so follow a pop. Payloads of growing size put the two
// batches of some turns in different blocks.
func chaseRounds(t *testing.T, m *vfs.MemFS, l *ledger, rounds int) {
	t.Helper()
	c := newClock()
	var mu sync.Mutex
	var armed func()
	gate := writeGate{FS: m, before: func() {
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
		t.Fatal(err)
	}
	defer a.Close()
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
	push := func(q *Queue, p string) {
		l.mark(l.tried, p)
		if _, err := q.Push(bg, []byte(p)); err != nil {
			t.Fatal(err)
		}
		l.mark(l.pushed, p)
	}
	push(b, "m-000")
	prev, err := a.Pop(bg, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	chased := 0
	for k := 1; k <= rounds; k++ {
		// Sizes that vary, so that the pop's and the ack's batches of
		// some turns lie in different blocks, as a power cut may keep
		// one and lose the other.
		push(b, fmt.Sprintf("m-%03d-%s", k, strings.Repeat("x", 97*k)))
		acked := make(chan error, 1)
		got := string(prev.Payload)
		r := prev.Receipt()
		mu.Lock()
		armed = func() {
			l.mark(l.ackTried, got)
			go func() { acked <- a.Ack(bg, r) }()
			// The ack waits in a's queue (it joins a batch whose turn
			// has not come): the turn that writes the pop is running.
			<-joined
		}
		mu.Unlock()
		before := a.chased.Load()
		next, err := a.Pop(bg, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-acked; err != nil {
			t.Fatal(err)
		}
		l.mark(l.acked, got)
		if a.chased.Load() > before {
			chased++
		}
		prev = next
	}
	if chased < rounds/2 {
		t.Fatalf("%d of %d acks followed their pop in its turn: the test checks little of what it means to", chased, rounds)
	}
}

// Acks that follow pops in their turn, crashed at every step in every
// way: no acknowledged push or ack is lost, and every state opens.
func TestCrashChase(t *testing.T) {
	m := vfs.NewMem()
	withMarks(t, m)
	l := newLedger()
	finish := record(m, l)
	chaseRounds(t, m, l, 8)
	states := finish()
	if t.Failed() {
		t.FailNow()
	}
	checkQueueStates(t, states)
	t.Logf("%d crash states checked", len(states))
}
