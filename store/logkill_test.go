package store_test

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/store"
)

// Kills and power cuts in log mode. A child process updates the document
// in log mode (one key a step, "s<seq>"; a compaction by size now and
// then, LogCompactSize being small) and prints each step once Update
// returned. The parent kills it with SIGKILL (or shuts the loop-mounted
// filesystem down under it, as a power cut would), opens the document and
// checks it holds a prefix of the steps with every one printed.

type killDoc struct {
	Steps map[string]int `json:"steps"`
	Pad   string         `json:"pad"`
}

func TestLogKillHelper(t *testing.T) {
	path := os.Getenv("STORE_LOG_KILL_FILE")
	if path == "" {
		t.Skip("helper process for TestLogKill and TestLogPowerCut")
	}
	s, err := store.Open(path, &store.Options[killDoc]{Log: true, LogCompactSize: 8 << 10})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	d, _, _ := s.Get()
	w := bufio.NewWriter(os.Stdout)
	for seq := len(d.Steps); ; seq++ {
		_, err := s.Update(context.Background(), func(d *killDoc) error {
			if d.Steps == nil {
				d.Steps = map[string]int{}
			}
			d.Steps["s"+strconv.Itoa(seq)] = seq
			d.Pad = strings.Repeat("p", seq%300)
			return nil
		})
		if err != nil {
			fmt.Fprintln(w, "error:", err)
			w.Flush()
			os.Exit(1)
		}
		fmt.Fprintln(w, seq+1)
		w.Flush()
	}
}

// logKillCheck opens the document and checks it holds the steps 0..n-1
// for some n ≥ acked; it returns n.
func logKillCheck(path string, acked int) (int, error) {
	s, err := store.Open(path, &store.Options[killDoc]{Log: true})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	d, _, err := s.Get()
	if err != nil {
		return 0, err
	}
	n := len(d.Steps)
	for i := range n {
		if v, ok := d.Steps["s"+strconv.Itoa(i)]; !ok || v != i {
			return n, fmt.Errorf("holds %d steps but not s%d: no prefix", n, i)
		}
	}
	if n < acked {
		return n, fmt.Errorf("holds %d steps, but %d were acknowledged", n, acked)
	}
	return n, nil
}

// runKillChild starts the helper on path and returns it with a counter of
// the steps it printed.
func runKillChild(t *testing.T, path string) (*exec.Cmd, *atomic.Int64, chan struct{}) {
	t.Helper()
	return startCounting(t, "child", testdir.Command("TestLogKillHelper", "STORE_LOG_KILL_FILE="+path))
}

// startCounting starts cmd, a helper that prints the number of steps it
// has had acknowledged, one line each, and returns it with the last
// number printed and a channel closed when its output ends. Any other
// line fails the test, except EIO, which is what a power cut leaves the
// child.
func startCounting(t *testing.T, label string, cmd *exec.Cmd) (*exec.Cmd, *atomic.Int64, chan struct{}) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if n, err := strconv.Atoi(sc.Text()); err == nil {
				acked.Store(int64(n))
			} else if !strings.Contains(sc.Text(), "input/output error") {
				t.Errorf("%s: %s", label, sc.Text())
			}
		}
	}()
	return cmd, &acked, done
}

func TestLogKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(testdir.New(t), "state.json")
	rounds := testdir.Rounds(30, 12, 4)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	prev := 0
	for round := range rounds {
		cmd, acked, done := runKillChild(t, path)
		// In three rounds of four, wait for a first acknowledgement, so
		// that kills land among updates and compactions, not only in
		// Open.
		if rng.IntN(4) != 0 {
			for deadline := time.Now().Add(20 * time.Second); acked.Load() == 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
		}
		time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
		cmd.Process.Kill()
		<-done
		cmd.Wait()
		n, err := logKillCheck(path, max(prev, int(acked.Load())))
		if err != nil {
			t.Fatalf("round %d: after kill -9: %v", round, err)
		}
		prev = n
	}
	if prev == 0 {
		t.Fatal("the children never acknowledged an update")
	}
	t.Logf("%d kills, %d updates survived", rounds, prev)
}

func TestLogPowerCut(t *testing.T) {
	if testing.Short() {
		t.Skip("power cuts take a while")
	}
	crashtest.ForEachLoop(t, 64, func(t *testing.T, m *crashtest.Mount) {
		path := filepath.Join(m.Dir, "state.json")
		rounds := testdir.Rounds(10, 5, 2)
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
		prev := 0
		for round := range rounds {
			cmd, acked, done := runKillChild(t, path)
			// Wait for a first acknowledgement, then a random moment.
			for deadline := time.Now().Add(20 * time.Second); acked.Load() <= int64(prev) && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Duration(rng.IntN(80)) * time.Millisecond)
			before := int(acked.Load())
			cutErr := m.Shutdown()
			cmd.Process.Kill()
			<-done
			cmd.Wait()
			if cutErr != nil {
				t.Fatal(cutErr)
			}
			if err := m.Remount(); err != nil {
				out, _ := exec.Command("sh", "-c", "fuser -vm "+m.Dir+" 2>&1; ls -l /proc/*/cwd 2>/dev/null | grep "+m.Dir).CombinedOutput()
				t.Fatalf("round %d parent %d child %d: %v\n%s", round, os.Getpid(), cmd.Process.Pid, err, out)
			}
			n, err := logKillCheck(path, max(prev, before))
			if err != nil {
				t.Fatalf("round %d on %s: after a power cut: %v", round, m.FSType, err)
			}
			prev = n
		}
		t.Logf("%s: %d power cuts, %d updates survived", m.FSType, rounds, prev)
	})
}
