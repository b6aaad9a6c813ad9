package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
)

func runQueueCLI(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	return runVerb(t, queueVerb(), stdin, args...)
}

func TestQueueVerb(t *testing.T) {
	dir := filepath.Join(testdir.New(t), "jobs")
	r := runQueueCLI(t, nil, "push", dir, "one", "two")
	if r.code != exitOK || r.stdout != "0\n1\n" {
		t.Fatalf("push args: %v", r)
	}
	r = runQueueCLI(t, strings.NewReader("three\nfour\n"), "push", "--json", dir)
	if r.code != exitOK || r.stdout != "{\"id\": 2}\n{\"id\": 3}\n" {
		t.Fatalf("push stdin: %v", r)
	}
	r = runQueueCLI(t, nil, "pop", "--lease", "1m", dir)
	if r.code != exitOK || r.stdout != "0.1\tone\n" {
		t.Fatalf("pop: %v", r)
	}
	if r = runQueueCLI(t, nil, "ack", dir, "0"); r.code != exitUsage || !strings.Contains(r.stderr, "ID.ATTEMPT") {
		t.Fatalf("ack with an ID, not a receipt: %v", r)
	}
	if r = runQueueCLI(t, nil, "ack", dir, "0.1"); r.code != exitOK {
		t.Fatalf("ack: %v", r)
	}
	if r = runQueueCLI(t, nil, "ack", dir, "0.1"); r.code != exitNotFound || !strings.Contains(r.stderr, "no such message") {
		t.Fatalf("second ack: %v", r)
	}
	r = runQueueCLI(t, nil, "pop", "--json", dir)
	var m struct {
		ID      int    `json:"id"`
		Payload string `json:"payload"`
		Attempt int    `json:"attempt"`
		Receipt string `json:"receipt"`
	}
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &m) != nil || m.ID != 1 || m.Payload != "two" || m.Attempt != 1 || m.Receipt != "1.1" {
		t.Fatalf("pop --json: %v", r)
	}
	if r = runQueueCLI(t, nil, "nack", dir, m.Receipt); r.code != exitOK {
		t.Fatalf("nack: %v", r)
	}
	r = runQueueCLI(t, nil, "ls", dir)
	if r.code != exitOK || r.stdout != "ready\t3\ndelayed\t0\nleased\t0\ndead\t0\n" {
		t.Fatalf("ls: %v", r)
	}
	// Five deliveries of message 1 (the default MaxAttempts) make it dead.
	for a := 2; a <= 5; a++ {
		r = runQueueCLI(t, nil, "pop", dir)
		if r.code != exitOK || !strings.HasPrefix(r.stdout, fmt.Sprintf("1.%d\t", a)) {
			t.Fatalf("pop: %v", r)
		}
		if r = runQueueCLI(t, nil, "nack", dir, fmt.Sprintf("1.%d", a)); r.code != exitOK {
			t.Fatalf("nack: %v", r)
		}
	}
	r = runQueueCLI(t, nil, "dead", dir)
	if r.code != exitOK || r.stdout != "1\t5\ttwo\n" {
		t.Fatalf("dead: %v", r)
	}
	if r = runQueueCLI(t, nil, "dead", "retry", dir, "1"); r.code != exitOK {
		t.Fatalf("retry: %v", r)
	}
	r = runQueueCLI(t, nil, "ls", "--json", dir)
	if r.code != exitOK || !strings.Contains(r.stdout, "\"ready\": 3") {
		t.Fatalf("ls --json: %v", r)
	}
	for a := 1; a <= 5; a++ {
		runQueueCLI(t, nil, "pop", dir)
		if r = runQueueCLI(t, nil, "nack", dir, fmt.Sprintf("1.%d", a)); r.code != exitOK {
			t.Fatalf("nack: %v", r)
		}
	}
	if r = runQueueCLI(t, nil, "dead", "purge", dir); r.code != exitOK || r.stdout != "purged 1\n" {
		t.Fatalf("purge: %v", r)
	}
	for range 2 {
		if r = runQueueCLI(t, nil, "pop", "--no-wait", dir); r.code != exitOK {
			t.Fatalf("pop: %v", r)
		}
	}
	if r = runQueueCLI(t, nil, "pop", "--no-wait", dir); r.code != exitEmpty {
		t.Fatalf("pop of an empty queue: %v", r)
	}
	if r = runQueueCLI(t, nil, "pop", "--timeout", "50ms", dir); r.code != exitTimeout {
		t.Fatalf("pop --timeout: %v", r)
	}
	if r = runQueueCLI(t, nil, "ack", dir, "x"); r.code != exitUsage {
		t.Fatalf("bad id: %v", r)
	}
	// A consumer whose lease ran out cannot end the next one's.
	runQueueCLI(t, nil, "push", dir, "late")
	first := runQueueCLI(t, nil, "pop", "--lease", "20ms", dir)
	time.Sleep(50 * time.Millisecond)
	second := runQueueCLI(t, nil, "pop", "--lease", "1m", dir)
	stale, _, _ := strings.Cut(first.stdout, "\t")
	held, _, _ := strings.Cut(second.stdout, "\t")
	if stale == held || !strings.HasSuffix(held, ".2") {
		t.Fatalf("pops: %v %v", first, second)
	}
	for _, verb := range []string{"nack", "extend", "ack"} {
		if r = runQueueCLI(t, nil, verb, dir, stale); r.code != exitConflict || !strings.Contains(r.stderr, "lease lost") {
			t.Fatalf("%s with a stale receipt: %v", verb, r)
		}
	}
	if r = runQueueCLI(t, nil, "extend", "--lease", "1h", dir, held); r.code != exitOK {
		t.Fatalf("extend: %v", r)
	}
	if r = runQueueCLI(t, nil, "ack", dir, held); r.code != exitOK {
		t.Fatalf("ack: %v", r)
	}
	if r = runQueueCLI(t, nil, "pop", "--help"); r.code != exitOK || !strings.Contains(r.stdout, "--lease") {
		t.Fatalf("help: %v", r)
	}
	if r = runQueueCLI(t, nil, "frobnicate"); r.code != exitUsage {
		t.Fatalf("unknown subcommand: %v", r)
	}
}

// A first message larger than a segment (the queue's are 1 MiB) is pushed,
// and the queue opens again and delivers it.
func TestQueueFirstPushLargerThanASegment(t *testing.T) {
	dir := filepath.Join(testdir.New(t), "jobs")
	big := strings.Repeat("x", 2<<20)
	if r := runQueueCLI(t, strings.NewReader(big+"\n"), "push", dir); r.code != exitOK || r.stdout != "0\n" {
		t.Fatalf("push of 2 MB: exit %d, %s", r.code, r.stderr)
	}
	r := runQueueCLI(t, nil, "pop", dir)
	if r.code != exitOK || r.stdout != "0.1\t"+big+"\n" {
		t.Fatalf("pop: exit %d, %d bytes, %s", r.code, len(r.stdout), r.stderr)
	}
	if r := runQueueCLI(t, nil, "ack", dir, "0.1"); r.code != exitOK {
		t.Fatalf("ack: %v", r.stderr)
	}
}
