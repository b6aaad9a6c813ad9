package queue

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	q.mu.Lock()
	defer q.mu.Unlock()
	var live []string
	for _, m := range q.st.msgs {
		live = append(live, string(m.payload))
	}
	return live, nil
}

// powerChild is a producer or consumer process whose reports feed a ledger.
type powerChild struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startPowerChild(t *testing.T, l *ledger, lines *atomic.Int64, env ...string) *powerChild {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
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
			}
		}
		cmd.Wait()
		close(c.done)
	}()
	return c
}

// TestPowerCut cuts the power under two producer and two consumer
// processes: a loop-mounted ext4 or xfs is shut down without flushing its
// log and mounted again. Every push acknowledged before the cut and not
// yet handed to a consumer is still queued, and no message whose Ack
// returned before the cut is queued again.
func TestPowerCut(t *testing.T) {
	if ok, why := crashtest.PowerCutSupported(); !ok {
		t.Skip("no power cuts: " + why)
	}
	n := 10
	if os.Getenv("CI") == "true" {
		n = 12
	} else if testing.Short() {
		n = 3
	}
	for _, fstype := range []string{"ext4", "xfs"} {
		t.Run(fstype, func(t *testing.T) {
			if ok, why := crashtest.FSSupported(fstype); !ok {
				t.Skip("no power cuts on " + fstype + ": " + why)
			}
			m, err := crashtest.NewLoop(testdir.New(t), fstype, 128)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := m.Close(); err != nil {
					t.Errorf("cleaning up the %s mount: %v", fstype, err)
				}
			})
			dir := filepath.Join(m.Dir, "q")
			seed := uint64(time.Now().UnixNano())
			t.Logf("timing seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 3))
			l := newLedger()
			start := time.Now()
			for round := range n {
				env := []string{"QUEUE_DIR=" + dir}
				// Rounds of one producer alone, one consumer alone (draining
				// what earlier rounds left, then idle), and two of each. Alone,
				// a process's records are flushed by nobody else: a missing
				// fsync shows.
				var kids []*powerChild
				var lines atomic.Int64
				nprod, ncons := 2, 2
				switch round % 3 {
				case 0:
					nprod, ncons = 1, 0
				case 1:
					nprod, ncons = 0, 1
				}
				for p := range nprod {
					kids = append(kids, startPowerChild(t, l, &lines, append(env, "QUEUE_CHILD=producer", fmt.Sprintf("QUEUE_NAME=r%dp%d", round, p))...))
				}
				for range ncons {
					kids = append(kids, startPowerChild(t, l, &lines, append(env, "QUEUE_CHILD=consumer")...))
				}
				deadline := time.Now().Add(5 * time.Second)
				for lines.Load() == 0 && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(time.Duration(50+rng.Int64N(400)) * time.Millisecond)
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
				live, err := livePayloads(dir)
				if err != nil {
					t.Fatalf("round %d: reopen after the cut: %v", round, err)
				}
				if err := checkLive(live, before); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
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
			t.Logf("%d power cuts on %s in %v: %d pushes and %d acks acknowledged before a cut, all kept",
				n, fstype, time.Since(start).Round(time.Millisecond), len(l.pushed), len(l.acked))
			l.mu.Unlock()
		})
	}
}

// TestFullDisk fills a tiny tmpfs: a push fails with ENOSPC and harms
// nothing; every acknowledged push is still queued; once space is freed,
// pushes go on, and a drained queue shrinks.
func TestFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("full-disk test needs root to mount a tiny tmpfs (CI runs it as root)")
	}
	mnt := filepath.Join(testdir.New(t), "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			exec.Command("umount", "-l", mnt).Run()
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
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
		if err := q.Ack(bg, m.ID); err != nil {
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
