package queue

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/internal/testdir"
)

// livePayloads returns the payloads of the live messages (ready, delayed,
// leased or dead) of the queue in dir, without changing it.
func livePayloads(dir string) ([]string, error) {
	q, err := Open(dir, &Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer q.Close()
	return q.livePayloads()
}

// powerChild is a producer or consumer process whose reports feed a ledger.
type powerChild struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// cutter decides, in a stepped round, after which acknowledgement the power
// is cut: the k-th report of the kind it watches ("pushed" or "acked").
// Every other report is answered at once, so the child goes on.
type cutter struct {
	kind string
	k    int
	mu   sync.Mutex
	n    int
	now  chan struct{} // closed at the k-th report
}

// report counts a report and says whether to let the child go on.
func (c *cutter) report(kind string) bool {
	if c == nil || kind != c.kind {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	if c.n == c.k {
		close(c.now)
		return false
	}
	return c.n < c.k
}

func startPowerChild(t *testing.T, l *ledger, lines *atomic.Int64, cut *cutter, env ...string) *powerChild {
	cmd := testdir.Command("", env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var in io.WriteCloser
	if cut != nil {
		cmd.Env = append(cmd.Env, "QUEUE_STEP=1")
		if in, err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &powerChild{cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			lines.Add(1)
			switch f[0] {
			case "try":
				l.mark(l.tried, f[1])
			case "pushed":
				l.mark(l.pushed, f[1])
			case "got":
				l.mark(l.ackTried, f[1])
			case "acked":
				l.mark(l.acked, f[1])
			case "recovered":
				// A child that outlives the cut gets I/O errors from
				// the shut-down filesystem; damage is what counts.
				if strings.Contains(sc.Text(), "corrupt") {
					t.Errorf("a power cut left a snapshot the journal does not confirm: %s", sc.Text())
				}
			}
			// The ledger has the report: only now may the cut come.
			if in != nil && (f[0] == "pushed" || f[0] == "acked") && cut.report(f[0]) {
				io.WriteString(in, "go\n")
			}
		}
		cmd.Wait()
		close(c.done)
	}()
	return c
}

// TestPowerCut cuts the power under producer and consumer processes: a
// loop-mounted ext4 or xfs is shut down without flushing its log and
// mounted again. Every push acknowledged before the cut and not yet handed
// to a consumer is still queued, and no message whose Ack returned before
// the cut is queued again.
//
// Rounds come in five kinds. A producer alone, and a consumer alone
// (draining what earlier rounds left), report each acknowledged Push or
// Ack and wait for the parent's word before going on; the parent cuts the
// power right after the k-th report (k at random), while the child waits:
// no later flush of the child's own can rescue an acknowledgement that
// was not durable when it returned, and nobody else writes. That catches
// an Ack or a Push that returns before its flush. Then three producers
// and a consumer, and a producer and three consumers, step the same way
// (the cut comes after the k-th report of any of them, and each child
// waits after its own): processes that write at once share their
// flushes (journal.WithLockShared), and an acknowledgement whose shared
// flush was skipped is caught there. Last, two producers and two
// consumers run freely and the cut lands at a random moment, in the
// middle of writes and flushes, which exercises the recovery of torn
// batches.
func TestPowerCut(t *testing.T) {
	n := 30
	if testing.Short() {
		n = 10
	}
	crashtest.ForEachLoop(t, 128, func(t *testing.T, m *crashtest.Mount) {
		dir := filepath.Join(m.Dir, "q")
		seed := uint64(time.Now().UnixNano())
		t.Logf("timing seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 3))
		l := newLedger()
		start := time.Now()
		live := 0 // messages left by the rounds before
		stepped := map[string]int{}
		for round := range n {
			env := []string{"QUEUE_DIR=" + dir, "QUEUE_PACE_MS=2"}
			var kids []*powerChild
			var lines atomic.Int64
			var cut *cutter
			nprod, ncons := 2, 2
			switch round % 5 {
			case 0:
				nprod, ncons = 1, 0
				cut = &cutter{kind: "pushed", k: 1 + rng.IntN(20), now: make(chan struct{})}
			case 1:
				nprod, ncons = 0, 1
				cut = &cutter{kind: "acked", k: 1 + rng.IntN(max(1, live)), now: make(chan struct{})}
			case 2:
				nprod, ncons = 3, 1
				cut = &cutter{kind: "pushed", k: 3 + rng.IntN(40), now: make(chan struct{})}
			case 3:
				nprod, ncons = 1, 3
				cut = &cutter{kind: "acked", k: 1 + rng.IntN(max(1, live)), now: make(chan struct{})}
			}
			for p := range nprod {
				kids = append(kids, startPowerChild(t, l, &lines, cut, append(env, "QUEUE_CHILD=producer", fmt.Sprintf("QUEUE_NAME=r%dp%d", round, p))...))
			}
			for range ncons {
				kids = append(kids, startPowerChild(t, l, &lines, cut, append(env, "QUEUE_CHILD=consumer")...))
			}
			if cut != nil {
				// The k-th report, or (a consumer that found fewer
				// messages than k, or a slow start) a cut anyway.
				select {
				case <-cut.now:
					stepped[cut.kind]++
				case <-time.After(3 * time.Second):
				}
			} else {
				deadline := time.Now().Add(5 * time.Second)
				for lines.Load() == 0 && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(time.Duration(20+rng.Int64N(300)) * time.Millisecond)
			}
			// Only reports read before the cut surely predate it.
			before := l.snapshot()
			cutErr := m.Shutdown()
			for _, c := range kids {
				c.cmd.Process.Kill()
				<-c.done
			}
			if cutErr != nil {
				t.Fatal(cutErr)
			}
			if err := m.Remount(); err != nil {
				t.Fatal(err)
			}
			// What a consumer got after the snapshot may be acked or not:
			// count it as tried.
			after := l.snapshot()
			before.ackTried, before.tried = after.ackTried, after.tried
			if err := sameAsReplayDir(dir); err != nil {
				t.Fatalf("round %d (%s): %v", round, roundKind(cut), err)
			}
			payloads, err := livePayloads(dir)
			if err != nil {
				t.Fatalf("round %d: reopen after the cut: %v", round, err)
			}
			if err := checkLive(payloads, before); err != nil {
				t.Fatalf("round %d (%s): %v", round, roundKind(cut), err)
			}
			live = len(payloads)
			l.mu.Lock()
			// Pushes that returned after the snapshot may be lost or not:
			// from now on they count as tried only.
			for p := range l.pushed {
				if !before.pushed[p] {
					delete(l.pushed, p)
				}
			}
			for p := range l.acked {
				if !before.acked[p] {
					delete(l.acked, p)
				}
			}
			l.mu.Unlock()
		}
		l.mu.Lock()
		t.Logf("%d power cuts on %s in %v (%d right after a push returned, %d right after an ack returned, the others at random): %d pushes and %d acks acknowledged before a cut, all kept",
			n, m.FSType, time.Since(start).Round(time.Millisecond), stepped["pushed"], stepped["acked"], len(l.pushed), len(l.acked))
		l.mu.Unlock()
	})
}

func roundKind(c *cutter) string {
	if c == nil {
		return "cut at a random moment"
	}
	return fmt.Sprintf("cut right after %s report %d", c.kind, c.k)
}

// TestFullDisk fills a tiny tmpfs: a push fails with ENOSPC and harms
// nothing; every acknowledged push is still queued; once space is freed,
// pushes go on, and a drained queue shrinks.
func TestFullDisk(t *testing.T) {
	mnt := testdir.TinyTmpfs(t, "512k")
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, bytes.Repeat([]byte("f"), 320<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mnt, "q")
	opts := &Options{SegmentSize: 32 << 10, CompactRecords: 64}
	q, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { q.Close() }()
	l := newLedger()
	var full error
	for k := 0; k < 100000; k++ {
		p := fmt.Sprintf("job-%06d-%s", k, strings.Repeat("x", 200))
		l.mark(l.tried, p)
		if _, err := q.Push(bg, []byte(p)); err != nil {
			full = err
			break
		}
		l.mark(l.pushed, p)
	}
	if !errors.Is(full, syscall.ENOSPC) {
		t.Fatalf("filling the disk: %v, want ENOSPC", full)
	}
	t.Logf("disk full after %d pushes: %v", len(l.pushed), full)
	if _, err := q.Push(bg, []byte("still full")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("push on a full disk: %v", err)
	}
	check := func() {
		t.Helper()
		live, err := livePayloads(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkLive(live, l); err != nil {
			t.Fatal(err)
		}
	}
	check()
	// Free space: the same handle goes on pushing, and draining works.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for k := range 50 {
		p := fmt.Sprintf("after-%d", k)
		l.mark(l.tried, p)
		if _, err := q.Push(bg, []byte(p)); err != nil {
			t.Fatalf("push after freeing space: %v", err)
		}
		l.mark(l.pushed, p)
	}
	check()
	for {
		m, ok, err := q.TryPop(bg, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		l.mark(l.ackTried, string(m.Payload))
		if err := q.Ack(bg, m.Receipt()); err != nil {
			t.Fatal(err)
		}
		l.mark(l.acked, string(m.Payload))
	}
	if err := q.Compact(bg); err != nil {
		t.Fatal(err)
	}
	check()
	var size int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && !e.IsDir() {
			size += fi.Size()
		}
	}
	if size > 2*opts.SegmentSize {
		t.Errorf("drained queue takes %d bytes", size)
	}
	t.Logf("drained: %d bytes in %d entries", size, len(ents))
}
