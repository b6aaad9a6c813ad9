package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
)

func runQueueCLI(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr bytes.Buffer
	c := &cli{ctx: context.Background(), stdin: stdin, stdout: &stdout, stderr: &stderr, verb: queueVerb()}
	code := queueVerb().run(c, args)
	return result{code, stdout.String(), stderr.String()}
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
	if r.code != exitOK || r.stdout != "0\tone\n" {
		t.Fatalf("pop: %v", r)
	}
	if r = runQueueCLI(t, nil, "ack", dir, "0"); r.code != exitOK {
		t.Fatalf("ack: %v", r)
	}
	if r = runQueueCLI(t, nil, "ack", dir, "0"); r.code != exitNotFound || !strings.Contains(r.stderr, "no such message") {
		t.Fatalf("second ack: %v", r)
	}
	r = runQueueCLI(t, nil, "pop", "--json", dir)
	var m struct {
		ID      int    `json:"id"`
		Payload string `json:"payload"`
		Attempt int    `json:"attempt"`
	}
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &m) != nil || m.ID != 1 || m.Payload != "two" || m.Attempt != 1 {
		t.Fatalf("pop --json: %v", r)
	}
	if r = runQueueCLI(t, nil, "nack", dir, "1"); r.code != exitOK {
		t.Fatalf("nack: %v", r)
	}
	r = runQueueCLI(t, nil, "ls", dir)
	if r.code != exitOK || r.stdout != "ready\t3\ndelayed\t0\nleased\t0\ndead\t0\n" {
		t.Fatalf("ls: %v", r)
	}
	// Five deliveries of message 1 (the default MaxAttempts) make it dead.
	for range 4 {
		r = runQueueCLI(t, nil, "pop", dir)
		if r.code != exitOK || !strings.HasPrefix(r.stdout, "1\t") {
			t.Fatalf("pop: %v", r)
		}
		if r = runQueueCLI(t, nil, "nack", dir, "1"); r.code != exitOK {
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
	r = runQueueCLI(t, nil, "pop", dir)
	if r = runQueueCLI(t, nil, "nack", dir, "1"); r.code != exitOK {
		t.Fatalf("nack: %v", r)
	}
	for range 4 {
		runQueueCLI(t, nil, "pop", dir)
		runQueueCLI(t, nil, "nack", dir, "1")
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
	if r = runQueueCLI(t, nil, "pop", "--help"); r.code != exitOK || !strings.Contains(r.stdout, "--lease") {
		t.Fatalf("help: %v", r)
	}
	if r = runQueueCLI(t, nil, "frobnicate"); r.code != exitUsage {
		t.Fatalf("unknown subcommand: %v", r)
	}
}
