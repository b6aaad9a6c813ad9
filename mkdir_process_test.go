package durable_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// Across processes nothing in memory can vouch for a directory: a writer
// that finds the directory another process made (and was killed before
// syncing its parent), or that races another process to make it, must
// itself see the fsync of every parent on the path complete before it
// acknowledges a new file. A power cut cannot show this on ext4 or xfs,
// whose journal commits the other process's mkdir with this one's fsync
// (one global order), so the children record the fsyncs they saw complete.

const (
	mkdirChildEnv = "DURABLE_MKDIR_CHILD"
	mkdirPathEnv  = "DURABLE_MKDIR_PATH"
	mkdirLogEnv   = "DURABLE_MKDIR_LOG"
)

// syncRecorder is the real filesystem, logging each directory fsync that
// returned nil.
type syncRecorder struct {
	vfs.OS
	mu  *sync.Mutex
	log *os.File
}

func (r syncRecorder) SyncDir(dir string) error {
	err := r.OS.SyncDir(dir)
	if err == nil {
		r.mu.Lock()
		fmt.Fprintf(r.log, "syncdir %s\n", dir)
		r.mu.Unlock()
	}
	return err
}

// TestMkdirChild is the child of TestFoundDirectoryAcrossProcesses; run
// directly, it does nothing.
func TestMkdirChild(t *testing.T) {
	mode, path := os.Getenv(mkdirChildEnv), os.Getenv(mkdirPathEnv)
	switch mode {
	case "":
		t.Skip("a child of TestFoundDirectoryAcrossProcesses; runs only when it starts it")
	case "mkdir":
		// A writer killed between its mkdir and its parent's fsync.
		if err := os.MkdirAll(path, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		self, _ := os.FindProcess(os.Getpid())
		self.Kill()
		select {}
	case "write":
		log, err := os.OpenFile(os.Getenv(mkdirLogEnv), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fsys := syncRecorder{mu: new(sync.Mutex), log: log}
		if err := durable.WriteFile(path, []byte("x"), 0o600, durable.WithFS(fsys)); err != nil {
			fmt.Fprintln(log, "error", err)
			os.Exit(1)
		}
		fmt.Fprintln(log, "ack")
		log.Close()
		os.Exit(0)
	}
}

func mkdirChild(t *testing.T, mode, path, log string) *exec.Cmd {
	cmd := testdir.Command("TestMkdirChild", mkdirChildEnv+"="+mode, mkdirPathEnv+"="+path, mkdirLogEnv+"="+log)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestFoundDirectoryAcrossProcesses(t *testing.T) {
	for _, killed := range []bool{true, false} {
		name := "racing writers"
		if killed {
			name = "left by a killed writer"
		}
		t.Run(name, func(t *testing.T) {
			root := testdir.New(t)
			dir := filepath.Join(root, "new", "sub")
			if killed {
				if err := mkdirChild(t, "mkdir", dir, "").Run(); err == nil {
					t.Fatal("the mkdir child was not killed")
				}
				if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
					t.Fatalf("the killed child left no directory: %v", err)
				}
			}
			// Two writers at once, each a fresh process with nothing
			// remembered, each writing its own new file in dir.
			var cmds []*exec.Cmd
			var logs []string
			for _, f := range []string{"a", "b"} {
				log := filepath.Join(root, f+".log")
				cmd := mkdirChild(t, "write", filepath.Join(dir, f), log)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds, logs = append(cmds, cmd), append(logs, log)
			}
			for i, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					b, _ := os.ReadFile(logs[i])
					t.Fatalf("writer %d: %v\n%s", i, err, b)
				}
			}
			// Every directory that holds the path: dir itself (the new
			// file's entry) and each of its parents (the next name down).
			var want []string
			for d := dir; ; d = filepath.Dir(d) {
				want = append(want, d)
				if filepath.Dir(d) == d {
					break
				}
			}
			for i, log := range logs {
				synced := map[string]bool{}
				acked := false
				f, err := os.Open(log)
				if err != nil {
					t.Fatal(err)
				}
				sc := bufio.NewScanner(f)
				for sc.Scan() {
					line := sc.Text()
					if line == "ack" {
						acked = true
						break
					}
					if d, ok := strings.CutPrefix(line, "syncdir "); ok {
						synced[d] = true
					}
				}
				f.Close()
				if !acked {
					t.Fatalf("writer %d never acknowledged", i)
				}
				for _, d := range want {
					if !synced[d] {
						t.Errorf("writer %d acknowledged its new file without seeing %s fsynced: the path to it may vanish in a power cut", i, d)
					}
				}
			}
		})
	}
}
