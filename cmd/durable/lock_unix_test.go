//go:build unix

package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-go/durable/lock"
)

func TestLockRunsCommandAndPassesItsStatus(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	r := runCLI(t, nil, "lock", file, "--", "sh", "-c", "echo inside; exit 3")
	if r.code != 3 || !strings.Contains(r.stdout, "inside") {
		t.Fatalf("want the command's output and its exit status 3:\n%v", r)
	}
	// While the command runs, the lock is held.
	r = runCLI(t, nil, "lock", file, "--", "sh", "-c", "exit 0")
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
}

func TestLockHeldInsideCommand(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	done := make(chan result)
	go func() {
		done <- runCLI(t, nil, "lock", file, "--", "sleep", "0.5")
	}()
	// Wait until the lock is taken, then check that nobody else gets it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, err := lock.TryLock(file)
		if err != nil {
			break
		}
		h.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the lock was never taken")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if r := runCLI(t, nil, "lock", "--timeout", "0", file, "--", "true"); r.code != exitLocked {
		t.Fatalf("--timeout 0 while held: want exit %d\n%v", exitLocked, r)
	}
	if r := runCLI(t, nil, "lock", "--timeout", "50ms", file, "--", "true"); r.code != exitTimeout {
		t.Fatalf("timeout while held: want exit %d\n%v", exitTimeout, r)
	}
	if r := <-done; r.code != 0 {
		t.Fatalf("holder: %v", r)
	}
	h, err := lock.Lock(context.Background(), file)
	if err != nil {
		t.Fatalf("lock not released after the command ended: %v", err)
	}
	h.Unlock()
}

func TestLockUsage(t *testing.T) {
	if r := runCLI(t, nil, "lock", "only-a-file"); r.code != exitUsage {
		t.Fatalf("%v", r)
	}
}
