package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// streamSize is what the memory tests push through the binary: 1 GiB, so
// that anything held in memory shows.
const streamSize = 1 << 30

// maxRSSLimit is the peak resident set the binary may reach while
// streaming streamSize bytes.
const maxRSSLimit = 64 << 20

// runStreaming runs the built binary with args, feeding it streamSize bytes
// of chunk repeated, and returns its peak resident set in bytes.
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
	for sent := 0; sent < streamSize; sent += len(chunk) {
		if _, err := stdin.Write(chunk); err != nil {
			t.Fatalf("feeding durable %v: %v\n%s", args, err, stderr.String())
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("durable %v: %v\n%s", args, err, stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return ru.Maxrss << 10 // KiB on Linux
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
