//go:build unix

package jsonl_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// Process crashes: four processes (this test binary, re-executed to run
// TestKillChild) append to one file at once, each from two goroutines, and
// print "ack ID" after every append that returned. The parent SIGKILLs one
// of them at random moments and starts a fresh one in its place. At the
// end, every acknowledged line must be in the file exactly once, no line
// twice, and the file must parse after Open.

const (
	killPathEnv = "DURABLE_JSONL_KILL_PATH"
	killIDEnv   = "DURABLE_JSONL_KILL_ID"
	killTearEnv = "DURABLE_JSONL_KILL_TEAR"
	// killBatchEnv, when set, is the batch size (WithBatch) the children
	// and the final Open use: small, so that their Opens read only the end
	// of a file that grows past it within the test.
	killBatchEnv = "DURABLE_JSONL_KILL_BATCH"
)

// killOpts are the options a child opens the file with.
func killOpts(batch string) *jsonl.Options {
	n, err := strconv.ParseInt(batch, 10, 64)
	if err != nil || n <= 0 {
		return nil
	}
	return jsonl.WithBatch(nil, n)
}

// A kill rarely lands inside a write(2) of a few hundred bytes, though
// Linux does stop a write that a SIGKILL interrupts between pages. A
// tearing child makes that happen on purpose: after a few appends it takes
// the lock, writes half a line as an appender would when killed mid-write,
// says "tearing", and waits for the kill. The others must repair it.
func tear(path, id string, f *jsonl.File) {
	for i := range 3 {
		key := fmt.Sprintf("%s.n%d", id, i)
		if err := f.Append(context.Background(), rec{ID: key}); err != nil {
			fmt.Fprintln(os.Stderr, "append:", err)
			os.Exit(1)
		}
		os.Stdout.WriteString("ack " + key + "\n")
	}
	h, err := lock.Lock(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lock:", err)
		os.Exit(1)
	}
	defer h.Unlock()
	raw, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = raw.WriteString(tornLine(id))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tear:", err)
		os.Exit(1)
	}
	os.Stdout.WriteString("tearing\n")
	for {
		// Until killed, holding the lock. A sleep, not select{}: with no
		// timer pending the runtime would call that a deadlock and exit.
		time.Sleep(time.Hour)
	}
}

func tornLine(id string) string { return `{"id":"` + id + `.torn","pad":"kkkk` }

// TestKillChild is the appender of TestKillAppenders; run directly, it
// does nothing.
func TestKillChild(t *testing.T) {
	path := os.Getenv(killPathEnv)
	if path == "" {
		t.Skip("the appender child of TestKillAppenders; runs only when it starts it")
	}
	id := os.Getenv(killIDEnv)
	f, err := jsonl.Open(path, killOpts(os.Getenv(killBatchEnv)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(1)
	}
	if os.Getenv(killTearEnv) != "" {
		tear(path, id, f)
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(g)))
			for i := 0; ; i++ {
				pad := rng.IntN(300)
				if rng.IntN(200) == 0 {
					// Now and then a line of tens of KiB, which a kill can
					// interrupt between pages (the tearing child below
					// makes sure torn lines happen in every run).
					pad = 32<<10 + rng.IntN(32<<10)
				}
				key := fmt.Sprintf("%s.t%d.n%d", id, g, i)
				if err := f.Append(context.Background(), rec{ID: key, Pad: strings.Repeat("k", pad)}); err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(1)
				}
				out.Lock()
				os.Stdout.WriteString("ack " + key + "\n")
				out.Unlock()
			}
		})
	}
	wg.Wait()
}

type appender struct {
	cmd     *exec.Cmd
	id      string
	acks    atomic.Int64
	tearing atomic.Bool
	eof     chan struct{}
	stderr  strings.Builder
}

func TestKillAppenders(t *testing.T) { killAppenders(t, "") }

// TestKillAppendersTail is TestKillAppenders with a batch of 4 KiB: every
// Open after the first few kills reads only the end of the file, so a kill
// that left damage further back would show in the final Scan.
func TestKillAppendersTail(t *testing.T) { killAppenders(t, "4096") }

func killAppenders(t *testing.T, batch string) {
	kills := testdir.Rounds(200, 30, 10)
	const procs = 4
	path := filepath.Join(t.TempDir(), "log.jsonl")
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill timing seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	var mu sync.Mutex
	acked := map[string]bool{}
	gen := 0
	start := func() *appender {
		gen++
		id := "p" + strconv.Itoa(gen)
		cmd := testdir.Command("TestKillChild", killPathEnv+"="+path, killIDEnv+"="+id, killBatchEnv+"="+batch)
		a := &appender{cmd: cmd, id: id, eof: make(chan struct{})}
		if rng.IntN(8) == 0 {
			cmd.Env = append(cmd.Env, killTearEnv+"=1")
		}
		cmd.Stderr = &a.stderr
		out := testdir.Start(t, cmd)
		go func() {
			defer close(a.eof)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if sc.Text() == "tearing" {
					a.tearing.Store(true)
				}
				if key, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
					mu.Lock()
					acked[key] = true
					mu.Unlock()
					a.acks.Add(1)
				}
			}
		}()
		return a
	}
	kill := func(a *appender) {
		a.cmd.Process.Kill()
		<-a.eof // every ack printed before the kill is counted
		a.cmd.Wait()
	}

	running := make([]*appender, procs)
	for i := range running {
		running[i] = start()
	}
	var torn []string
	deadline := time.Now().Add(2 * time.Minute)
	for k := 0; k < kills; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d kills in two minutes", k)
		}
		time.Sleep(time.Duration(1+rng.IntN(25)) * time.Millisecond)
		i := rng.IntN(procs)
		for j, a := range running {
			if a.tearing.Load() {
				i = j // it holds the lock: kill it first
			}
		}
		a := running[i]
		if a.tearing.Load() {
			torn = append(torn, tornLine(a.id))
		}
		select {
		case <-a.eof:
			a.cmd.Wait()
			t.Fatalf("an appender exited on its own: %s", a.stderr.String())
		default:
		}
		if a.acks.Load() == 0 {
			continue // still starting: a kill now tests nothing
		}
		kill(a)
		k++
		running[i] = start()
	}
	for _, a := range running {
		kill(a)
		if a.tearing.Load() {
			torn = append(torn, tornLine(a.id))
		}
	}

	f, err := jsonl.Open(path, killOpts(batch))
	if err != nil {
		t.Fatalf("Open after the kills: %v", err)
	}
	rep := f.Report()
	if batch != "" && rep.CheckedFrom == 0 {
		t.Errorf("the final Open read the whole file of %d bytes: the tail check went untested", rep.SizeBefore)
	}
	f.Close()
	vals, errs := scanAll(vfs.OS{}, path)
	if len(errs) > 0 {
		t.Fatalf("the file does not parse after Open: %v", errs[0])
	}
	count := ids(t, vals)
	lost, dup := 0, 0
	for key := range acked {
		if count[key] != 1 {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged line %s appears %d times", key, count[key])
			}
		}
	}
	for key, n := range count {
		if n > 1 {
			dup++
			if dup <= 5 {
				t.Errorf("line %s appears %d times", key, n)
			}
		}
	}
	evs, _ := filepath.Glob(path + jsonl.EvidenceInfix + "*")
	ev := map[string]string{}
	for _, e := range evs {
		b, err := os.ReadFile(e)
		if err != nil {
			t.Fatal(err)
		}
		ev[e] = string(b)
	}
	// Two tearing children can tear back to back (the second took the
	// lock the first was killed holding, and wrote before anyone
	// repaired): one cut then holds both pieces. Each torn piece must be
	// in some evidence file, whole.
	for _, l := range torn {
		found := false
		for _, c := range ev {
			found = found || strings.Contains(c, l)
		}
		if !found {
			t.Errorf("the torn line %q left by a killed writer is in no evidence file", l)
		}
	}
	t.Logf("%d kills of %d processes: %d lines acknowledged, %d in the file; %d lines torn on purpose, %d evidence files; final Open: %v",
		kills, gen, len(acked), len(vals), len(torn), len(evs), rep)
}
