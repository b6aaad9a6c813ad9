//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLockExitCodes runs the built binary as flock(1) users would: 127 for
// a command not found, 126 for one that cannot run, the command's status
// otherwise, and --conflict-exit-code (flock -E) for a held lock.
func TestLockExitCodes(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "script")
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644)
	for _, tc := range []struct {
		command []string
		code    int
		says    string
	}{
		{[]string{"durable-no-such-command-h20"}, exitCommandNotFound, "command not found"},
		{[]string{notExec}, exitCannotRun, "cannot run"},
		{[]string{"sh", "-c", "exit 42"}, 42, ""},
		{[]string{"true"}, exitOK, ""},
	} {
		r := runBinary(t, dir, nil, append([]string{"lock", "state.json", "--"}, tc.command...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.says) || (tc.says == "" && r.stderr != "") {
			t.Errorf("lock -- %v: want exit %d saying %q\n%v", tc.command, tc.code, tc.says, r)
		}
	}
	r := runBinary(t, dir, nil, "lock", "--json", "state.json", "--", "sh", "-c", "echo out; exit 3")
	if r.code != 3 || !strings.Contains(r.stdout, `"exit_code": 3`) || !strings.Contains(r.stderr, "out") {
		t.Errorf("lock --json: %v", r)
	}

	holder := exec.Command(durableBinary(t), "lock", "state.json", "--", "sleep", "3")
	holder.Dir = dir
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for runBinary(t, dir, nil, "lock", "--timeout", "0", "state.json", "--", "true").code != exitLocked {
		if time.Now().After(deadline) {
			t.Fatal("the holder never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"--timeout", "0"}, exitLocked, "true was not run"},
		{[]string{"--timeout", "100ms"}, exitTimeout, "timed out after 100ms waiting for the lock"},
		{[]string{"--timeout", "0", "--conflict-exit-code", "99"}, 99, "locked"},
		{[]string{"--timeout", "100ms", "-conflict-exit-code=1"}, 1, "timed out"},
	} {
		args := append(append([]string{"lock"}, tc.args...), "state.json", "--", "true")
		r := runBinary(t, dir, nil, args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.says) || strings.Count(r.stderr, "durable:") != 1 {
			t.Errorf("durable %v while held: want exit %d saying %q\n%v", args, tc.code, tc.says, r)
		}
	}
	if r := runBinary(t, dir, nil, "lock", "--conflict-exit-code", "0", "state.json", "--", "true"); r.code != exitUsage {
		t.Errorf("--conflict-exit-code 0: %v", r)
	}
}

// TestLogNotFound: reading verbs on a missing log exit 14 and create
// nothing; append creates it.
func TestLogNotFound(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"log", "cat", "nolog"},
		{"log", "tail", "nolog"},
		{"log", "verify", "nolog"},
		{"log", "proof", "nolog", "0"},
		{"store", "get", "nodoc.json"},
	} {
		if r := runBinary(t, dir, nil, args...); r.code != exitNotFound {
			t.Errorf("durable %v: want exit %d\n%v", args, exitNotFound, r)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("reading verbs created %v", ents)
	}
	if r := runBinary(t, dir, nil, "log", "append", "nolog", "first"); r.code != exitOK {
		t.Errorf("log append: %v", r)
	}
	if r := runBinary(t, dir, nil, "log", "proof", "nolog", "5"); r.code == exitOK {
		t.Errorf("proof of a record past the end: %v", r)
	}
}
