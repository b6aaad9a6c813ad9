//go:build unix

package journal

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/internal/testdir"
)

// Process crashes: four processes append to one directory (the test binary
// re-executed as TestJournalChild) and are SIGKILLed at random moments,
// several times over. After every round the parent opens the journal
// (recovering what the kills left) and requires every index any child
// acknowledged to hold exactly the payload it acknowledged, and the log to
// verify, the checkpoints the children signed included.

const (
	envChildDir = "DURABLE_JOURNAL_CHILD_DIR"
	envChildID  = "DURABLE_JOURNAL_CHILD_ID"
	envChildKey = "DURABLE_JOURNAL_CHILD_KEY"
	envChildSeg = "DURABLE_JOURNAL_CHILD_SEG"
)

// TestJournalChild is the appending child of the kill and power-cut tests;
// run directly, it does nothing.
func TestJournalChild(t *testing.T) {
	dir := os.Getenv(envChildDir)
	if dir == "" {
		t.Skip("the appending child of the crash tests; runs only when they start it")
	}
	err := runChild(dir, os.Getenv(envChildID), os.Getenv(envChildKey), os.Getenv(envChildSeg))
	fmt.Fprintln(os.Stderr, "child:", err)
	os.Exit(1)
}

// runChild appends until killed, printing "ack <index> <payload>" for every
// acknowledged record.
func runChild(dir, id, skey, seg string) error {
	segSize, _ := strconv.ParseInt(seg, 10, 64)
	j, err := Open(dir, &Options{SegmentSize: segSize})
	if err != nil {
		return err
	}
	var signer note.Signer
	if skey != "" {
		if signer, err = note.NewSigner(skey); err != nil {
			return err
		}
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	ack := func(i uint64, p string) {
		mu.Lock()
		fmt.Fprintf(out, "ack %d %s\n", i, p)
		out.Flush()
		mu.Unlock()
	}
	pid := os.Getpid()
	errc := make(chan error, 3)
	for g := range 3 {
		go func() {
			for seq := 0; ; seq++ {
				p := fmt.Sprintf("c%s-%d-%d-%d-%s", id, pid, g, seq, strings.Repeat("x", seq%200))
				if seq%7 == 3 {
					batch := [][]byte{[]byte(p + "/a"), []byte(p + "/b"), []byte(p + "/c")}
					first, err := j.AppendBatch(context.Background(), batch)
					if err != nil {
						errc <- err
						return
					}
					for k, b := range batch {
						ack(first+uint64(k), string(b))
					}
					continue
				}
				i, err := j.Append(context.Background(), []byte(p))
				if err != nil {
					errc <- err
					return
				}
				ack(i, p)
				if signer != nil && g == 0 && seq%40 == 39 {
					if _, err := j.Checkpoint(context.Background(), signer); err != nil {
						errc <- err
						return
					}
				}
			}
		}()
	}
	return <-errc
}

type appendChild struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	acks map[uint64]string
	done chan struct{}
	errb strings.Builder
}

func startChild(t *testing.T, dir string, id int, skey string, segSize int64) *appendChild {
	cmd := testdir.Command("TestJournalChild", envChildDir+"="+dir, envChildID+"="+strconv.Itoa(id), envChildKey+"="+skey,
		envChildSeg+"="+strconv.FormatInt(segSize, 10))
	c := &appendChild{cmd: cmd, acks: map[uint64]string{}, done: make(chan struct{})}
	cmd.Stderr = &c.errb
	out := testdir.Start(t, cmd)
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			rest, ok := strings.CutPrefix(sc.Text(), "ack ")
			if !ok {
				continue
			}
			n, p, _ := strings.Cut(rest, " ")
			i, err := strconv.ParseUint(n, 10, 64)
			if err != nil {
				continue
			}
			c.mu.Lock()
			c.acks[i] = p
			c.mu.Unlock()
		}
	}()
	return c
}

// kill SIGKILLs the child and waits until every ack it printed is read.
func (c *appendChild) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
	c.cmd.Wait()
}

func (c *appendChild) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.acks)
}

// checkAcked opens the journal (recovering it) and checks every
// acknowledged record and the whole log.
func checkAcked(t *testing.T, dir string, acked map[uint64]string, verifier note.Verifier) int {
	t.Helper()
	j, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("open after the crash: %v", err)
	}
	got := map[uint64]string{}
	var next uint64
	first := true
	for r, err := range j.Scan(0) {
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		if !first && r.Index != next {
			t.Fatalf("index %d follows %d", r.Index, next-1)
		}
		first = false
		next = r.Index + 1
		got[r.Index] = string(r.Payload)
	}
	j.Close()
	for i, p := range acked {
		if got[i] != p {
			t.Fatalf("acknowledged record %d: want %.30q, log has %.30q", i, p, got[i])
		}
	}
	opts := &VerifyOptions{Verifier: verifier}
	if _, err := os.Stat(filepath.Join(dir, checkpointName)); errors.Is(err, fs.ErrNotExist) {
		// No checkpoint taken yet: with the key that is itself
		// tampering; the rest is checked without it.
		if _, err := Verify(context.Background(), dir, opts); len(got) > 0 && !errors.Is(err, ErrTampered) {
			t.Fatalf("Verify with the key and no checkpoint: %v", err)
		}
		opts.Verifier = nil
	}
	rep, err := Verify(context.Background(), dir, opts)
	if err != nil || rep.Torn != nil {
		t.Fatalf("Verify after recovery: %v, torn %+v", err, rep.Torn)
	}
	return len(got)
}

func TestKillAppenders(t *testing.T) {
	kills := testdir.Rounds(200, 40, 12)
	dir := t.TempDir()
	skey, vkey, err := note.GenerateKey(crand.Reader, "kill-test")
	if err != nil {
		t.Fatal(err)
	}
	verifier, _ := note.NewVerifier(vkey)
	seed := uint64(time.Now().UnixNano())
	t.Logf("crash timing seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	acked := map[uint64]string{}
	done, records := 0, 0
	start := time.Now()
	for round := 0; done < kills; round++ {
		var kids []*appendChild
		for id := range 4 {
			kids = append(kids, startChild(t, dir, round*4+id, skey, 256<<10))
		}
		// Kill each at its own random moment, some before they got far.
		var wg sync.WaitGroup
		for _, c := range kids {
			delay := time.Duration(rng.Int64N(int64(80 * time.Millisecond)))
			waitAck := rng.IntN(4) != 0
			wg.Go(func() {
				deadline := time.Now().Add(10 * time.Second)
				for waitAck && c.count() == 0 && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(delay)
				c.kill()
			})
		}
		wg.Wait()
		for _, c := range kids {
			done++
			for i, p := range c.acks {
				if old, ok := acked[i]; ok && old != p {
					t.Fatalf("index %d acknowledged twice: %.30q and %.30q", i, old, p)
				}
				acked[i] = p
			}
			if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && !ws.Signaled() {
				t.Fatalf("a child exited on its own: %v: %s", c.cmd.ProcessState, c.errb.String())
			}
		}
		records = checkAcked(t, dir, acked, verifier)
	}
	if len(acked) == 0 {
		t.Fatal("no child acknowledged anything")
	}
	t.Logf("%d kills in %v: %d acknowledged records, %d in the log, all present", done, time.Since(start).Round(time.Millisecond), len(acked), records)
}
