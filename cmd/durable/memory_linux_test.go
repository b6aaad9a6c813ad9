package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// streamSize is what the memory tests push through the binary: 1 GiB, so
// that anything held in memory shows.
const streamSize = 1 << 30

// maxRSSLimit is the peak resident set the binary may reach while
// streaming streamSize bytes.
const maxRSSLimit = 64 << 20

// runStreaming runs the built binary with args, feeding it streamSize bytes
// of chunk repeated, and returns its peak resident set in bytes: the
// highest VmHWM read from /proc while it ran. (The rusage of wait4 will
// not do: a child started with vfork records the parent's high-water mark
// as its own when it execs, and a test binary built with -race is large.)
func runStreaming(t *testing.T, dir string, chunk []byte, args ...string) int64 {
	t.Helper()
	cmd := exec.Command(durableBinary(t), args...)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var peak atomic.Int64
	polled := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(polled)
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			b, err := os.ReadFile(status)
			if err != nil {
				return
			}
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					var kb int64
					fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
					if kb<<10 > peak.Load() {
						peak.Store(kb << 10)
					}
				}
			}
			select {
			case <-exited:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	for sent := 0; sent < streamSize; sent += len(chunk) {
		if _, err := stdin.Write(chunk); err != nil {
			t.Fatalf("feeding durable %v: %v\n%s", args, err, stderr.String())
		}
	}
	stdin.Close()
	err = cmd.Wait()
	close(exited)
	<-polled
	if err != nil {
		t.Fatalf("durable %v: %v\n%s", args, err, stderr.String())
	}
	if peak.Load() == 0 {
		t.Fatal("could not read the child's VmHWM from /proc")
	}
	return peak.Load()
}

func TestStreamingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes 1 GiB through the binary twice; skipped with -short")
	}
	dir := t.TempDir()

	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	rss := runStreaming(t, dir, chunk, "write", "--no-sync", "big")
	t.Logf("write of %d MiB: peak RSS %.1f MiB", streamSize>>20, float64(rss)/(1<<20))
	if rss > maxRSSLimit {
		t.Errorf("write of 1 GiB peaked at %d MiB, want under %d MiB", rss>>20, maxRSSLimit>>20)
	}
	if fi, err := os.Stat(filepath.Join(dir, "big")); err != nil || fi.Size() != streamSize {
		t.Errorf("big: %v, %v; want %d bytes", fi, err, streamSize)
	}
	os.Remove(filepath.Join(dir, "big"))

	line := append(bytes.Repeat([]byte(`{"k":"0123456789abcdef0123456789abcdef0123456789abcdef"}`+"\n"), 1<<14), '\n')
	line = line[:len(line)-1]
	rss = runStreaming(t, dir, line, "jsonl", "append", "--no-sync", "big.jsonl")
	t.Logf("jsonl append of %d MiB: peak RSS %.1f MiB", streamSize>>20, float64(rss)/(1<<20))
	if rss > maxRSSLimit {
		t.Errorf("jsonl append of 1 GiB peaked at %d MiB, want under %d MiB", rss>>20, maxRSSLimit>>20)
	}
	f, err := os.Open(filepath.Join(dir, "big.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := io.Copy(io.Discard, f)
	if err != nil || n < streamSize {
		t.Errorf("big.jsonl holds %d bytes (%v), want at least %d", n, err, streamSize)
	}
}
