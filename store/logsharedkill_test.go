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

// Power cuts with several processes updating one document in log mode,
// so that they share their flushes (journal.WithLockShared). Each child
// adds its own keys ("<name>s<seq>") and prints each step once Update
// returned; after the cut, the document holds of each child's keys a
// prefix with every one printed.

func TestLogSharedHelper(t *testing.T) {
	path, name := os.Getenv("STORE_LOG_SHARED_FILE"), os.Getenv("STORE_LOG_SHARED_NAME")
	if path == "" {
		t.Skip("helper process for TestLogPowerCutProcesses")
	}
	s, err := store.Open(path, &store.Options[killDoc]{Log: true, LogCompactSize: 8 << 10})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	d, _, _ := s.Get()
	seq := 0
	for {
		if _, ok := d.Steps[name+"s"+strconv.Itoa(seq)]; !ok {
			break
		}
		seq++
	}
	w := bufio.NewWriter(os.Stdout)
	for ; ; seq++ {
		_, err := s.Update(context.Background(), func(d *killDoc) error {
			if d.Steps == nil {
				d.Steps = map[string]int{}
			}
			d.Steps[name+"s"+strconv.Itoa(seq)] = seq
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

// logSharedKillCheck checks that the document holds, of each name's
// steps, a prefix of at least acked[name]; it returns the prefixes.
func logSharedKillCheck(path string, names []string, acked []int) ([]int, error) {
	s, err := store.Open(path, &store.Options[killDoc]{Log: true})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	d, _, err := s.Get()
	if err != nil {
		return nil, err
	}
	got := make([]int, len(names))
	for i, name := range names {
		n := 0
		for {
			if _, ok := d.Steps[name+"s"+strconv.Itoa(n)]; !ok {
				break
			}
			n++
		}
		for k := range d.Steps {
			if strings.HasPrefix(k, name+"s") {
				if seq, _ := strconv.Atoi(strings.TrimPrefix(k, name+"s")); seq >= n {
					return nil, fmt.Errorf("%s's steps are no prefix: %s without %ss%d", name, k, name, n)
				}
			}
		}
		if n < acked[i] {
			return nil, fmt.Errorf("%s: %d steps, but %d were acknowledged", name, n, acked[i])
		}
		got[i] = n
	}
	return got, nil
}

func runSharedChild(t *testing.T, path, name string) (*exec.Cmd, *atomic.Int64, chan struct{}) {
	t.Helper()
	return startCounting(t, "child "+name,
		testdir.Command("TestLogSharedHelper", "STORE_LOG_SHARED_FILE="+path, "STORE_LOG_SHARED_NAME="+name))
}

func TestLogPowerCutProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("power cuts take a while")
	}
	crashtest.ForEachLoop(t, 64, func(t *testing.T, m *crashtest.Mount) {
		path := filepath.Join(m.Dir, "state.json")
		names := []string{"a", "b", "c"}
		rounds := testdir.Rounds(8, 4, 2)
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
		prev := make([]int, len(names))
		for round := range rounds {
			cmds := make([]*exec.Cmd, len(names))
			ackeds := make([]*atomic.Int64, len(names))
			dones := make([]chan struct{}, len(names))
			for i, name := range names {
				cmds[i], ackeds[i], dones[i] = runSharedChild(t, path, name)
			}
			// Wait for each to acknowledge a step past the last round,
			// then a random moment.
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
				ok := true
				for i := range names {
					ok = ok && ackeds[i].Load() > int64(prev[i])
				}
				if ok {
					break
				}
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Duration(rng.IntN(80)) * time.Millisecond)
			before := make([]int, len(names))
			for i := range names {
				before[i] = max(prev[i], int(ackeds[i].Load()))
			}
			cutErr := m.Shutdown()
			for i := range names {
				cmds[i].Process.Kill()
				<-dones[i]
				cmds[i].Wait()
			}
			if cutErr != nil {
				t.Fatal(cutErr)
			}
			if err := m.Remount(); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			got, err := logSharedKillCheck(path, names, before)
			if err != nil {
				t.Fatalf("round %d on %s: after a power cut: %v", round, m.FSType, err)
			}
			prev = got
		}
		t.Logf("%s: %d power cuts, steps that survived: %v", m.FSType, rounds, prev)
	})
}
