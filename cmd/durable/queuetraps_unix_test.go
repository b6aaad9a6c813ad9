//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueueTraps runs the built binary: only push (or pop --create) makes
// a queue; every other verb on a mistyped DIR fails with exit 14 and
// creates nothing; an empty queue under --no-wait exits 15; timeouts and
// signals say what they left as it was.
func TestQueueTraps(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "jbos") // a typo of jobs
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o700)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	for _, q := range []string{missing, empty, file} {
		for _, args := range [][]string{
			{"queue", "pop", "--no-wait", q},
			{"queue", "pop", q}, // would wait for ever on a new queue
			{"queue", "ls", q},
			{"queue", "ls", "--json", q},
			{"queue", "ack", q, "1.1"},
			{"queue", "nack", q, "1.1"},
			{"queue", "dead", q},
			{"queue", "dead", "retry", q, "1"},
			{"queue", "dead", "purge", q},
		} {
			r := runBinary(t, dir, nil, args...)
			if r.code != exitNotFound || !strings.Contains(r.stdout+r.stderr, filepath.Base(q)) {
				t.Errorf("durable %v on %s: want exit %d naming it\n%v", args, filepath.Base(q), exitNotFound, r)
			}
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("a verb other than push created %s", missing)
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("a verb other than push wrote into an empty directory: %v", ents)
	}

	// --create makes it; then --no-wait on the empty queue has its own code.
	jobs := filepath.Join(dir, "jobs")
	r := runBinary(t, dir, nil, "queue", "pop", "--no-wait", "--create", jobs)
	if r.code != exitEmpty || !strings.Contains(r.stderr, "nothing was leased") {
		t.Errorf("pop --no-wait --create of a new queue: want exit %d\n%v", exitEmpty, r)
	}
	if r := runBinary(t, dir, nil, "queue", "ls", jobs); r.code != exitOK {
		t.Errorf("ls after --create: %v", r)
	}
	r = runBinary(t, dir, nil, "queue", "pop", "--timeout", "100ms", jobs)
	if r.code != exitTimeout || !strings.Contains(r.stderr, "timed out after 100ms waiting for a message") ||
		!strings.Contains(r.stderr, "nothing was leased") || strings.Contains(r.stderr, "context deadline exceeded") {
		t.Errorf("pop --timeout: %v", r)
	}
	if r := runBinary(t, dir, nil, "queue", "ack", jobs, "41.1"); r.code != exitNotFound {
		t.Errorf("ack of a message never pushed: want exit %d\n%v", exitNotFound, r)
	}

	// SIGTERM while waiting says what was interrupted and what was left.
	stderr, err := terminate(t, func() (*exec.Cmd, *strings.Builder) {
		cmd := exec.Command(durableBinary(t), "queue", "pop", jobs)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		return cmd, &stderr
	}, nil)
	if err == nil || !strings.Contains(stderr, "terminated") || !strings.Contains(stderr, "nothing was leased") ||
		strings.Contains(stderr, "context canceled") {
		t.Errorf("pop after SIGTERM: %v\n%s", err, stderr)
	}

	// The dead-letter limit has a flag and is in the help.
	if r := runBinary(t, dir, nil, "queue", "pop", "--help"); !strings.Contains(r.stdout, "--max-attempts") || !strings.Contains(r.stdout, "dead letter") {
		t.Errorf("pop --help does not give the dead-letter limit:\n%s", r.stdout)
	}
	if r := runBinary(t, dir, nil, "queue", "push", jobs, "m"); r.code != exitOK {
		t.Fatalf("push: %v", r)
	}
	r = runBinary(t, dir, nil, "queue", "pop", "--max-attempts", "1", jobs)
	if r.code != exitOK {
		t.Fatalf("pop: %v", r)
	}
	receipt, _, _ := strings.Cut(r.stdout, "\t")
	id, _, _ := strings.Cut(receipt, ".")
	if r := runBinary(t, dir, nil, "queue", "nack", "--max-attempts", "1", jobs, receipt); r.code != exitOK {
		t.Fatalf("nack: %v", r)
	}
	if r := runBinary(t, dir, nil, "queue", "dead", jobs); r.code != exitOK || !strings.HasPrefix(r.stdout, id+"\t1\tm") {
		t.Errorf("after one delivery with --max-attempts 1 the message is not a dead letter: %v", r)
	}
}
