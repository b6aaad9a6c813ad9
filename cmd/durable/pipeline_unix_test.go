//go:build unix

package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
)

// tempLeftovers lists durable's temp files (.NAME.<random>.tmp) in dir.
func tempLeftovers(t *testing.T, dir string) []string {
	t.Helper()
	var left []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			left = append(left, e.Name())
		}
	}
	return left
}

// assertUnchanged checks that file still holds want (or, with want "",
// does not exist) and that no temp file is left beside it.
func assertUnchanged(t *testing.T, file, want string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if want == "" {
		if !os.IsNotExist(err) {
			t.Errorf("%s exists (%q, %v), want it never created", file, b, err)
		}
	} else if string(b) != want {
		t.Errorf("%s holds %q, want it unchanged: %q", file, b, want)
	}
	if left := tempLeftovers(t, filepath.Dir(file)); len(left) > 0 {
		t.Errorf("temp files left: %v", left)
	}
}

func TestWriteRefusesEmptyInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state.json")
	os.WriteFile(file, []byte(`{"count":1}`), 0o600)
	// The README's old headline: a failed producer hands durable nothing.
	sh := exec.Command("sh", "-c", `printf 'not json' | jq '.count += 1' 2>/dev/null | "$0" write --backup state.json`, durableBinary(t))
	sh.Dir = dir
	out, err := sh.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitUsage {
		t.Errorf("empty pipeline: want exit %d, got %v\n%s", exitUsage, err, out)
	}
	assertUnchanged(t, file, `{"count":1}`)
	if _, err := os.Stat(file + ".bak.1"); err == nil {
		t.Error("a refused write made a backup")
	}

	for _, args := range [][]string{{"write", "state.json"}, {"write", "--json", "state.json"}, {"write", "state.json", "--", "true"}} {
		r := runBinary(t, dir, strings.NewReader(""), args...)
		if r.code != exitUsage {
			t.Errorf("durable %v with empty input: want exit %d\n%v", args, exitUsage, r)
		}
		msg := r.stderr
		if args[1] == "--json" {
			var e struct {
				Error string `json:"error"`
				Code  int    `json:"code"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &e); err != nil || e.Code != exitUsage {
				t.Errorf("durable %v: want a JSON error with code 2\n%v", args, r)
			}
			msg = e.Error
		}
		if !strings.Contains(msg, "empty") || !strings.Contains(msg, "state.json is unchanged") || !strings.Contains(msg, "--allow-empty") {
			t.Errorf("durable %v: the message does not say what happened and what to do:\n%v", args, r)
		}
		assertUnchanged(t, file, `{"count":1}`)
	}
	// A new file is not created from nothing either.
	if r := runBinary(t, dir, nil, "write", "new.json"); r.code != exitUsage {
		t.Errorf("empty input for a new file: %v", r)
	}
	assertUnchanged(t, filepath.Join(dir, "new.json"), "")

	for _, args := range [][]string{{"write", "--allow-empty", "state.json"}, {"write", "--allow-empty", "state.json", "--", "true"}} {
		os.WriteFile(file, []byte("x"), 0o600)
		if r := runBinary(t, dir, strings.NewReader(""), args...); r.code != exitOK || r.stderr != "" {
			t.Errorf("durable %v: %v", args, r)
		}
		if b, err := os.ReadFile(file); err != nil || len(b) != 0 {
			t.Errorf("durable %v: file holds %q, %v; want it empty", args, b, err)
		}
	}
}

func TestWriteCommandPublishesOnlyOnSuccess(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "out")
	const old = "old content\n"
	os.WriteFile(file, []byte(old), 0o600)
	notExec := filepath.Join(dir, "not-executable")
	os.WriteFile(notExec, []byte("#!/bin/sh\necho hi\n"), 0o644)

	for _, tc := range []struct {
		name    string
		command []string
		code    int
		says    string
	}{
		{"fails after output", []string{"sh", "-c", "printf partial; exit 1"}, 1, "sh exited with status 1"},
		{"its own status", []string{"sh", "-c", "echo half; exit 4"}, 4, "exited with status 4"},
		{"killed", []string{"sh", "-c", "echo half; kill -TERM $$"}, 128 + int(syscall.SIGTERM), "killed by signal 15"},
		{"not found", []string{"durable-no-such-command-h20"}, exitCommandNotFound, "command not found"},
		{"cannot run", []string{notExec}, exitCannotRun, "cannot run"},
	} {
		args := append([]string{"write", "out", "--"}, tc.command...)
		r := runBinary(t, dir, nil, args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.says) || !strings.Contains(r.stderr, "out is unchanged") {
			t.Errorf("%s: want exit %d saying %q and that the file is unchanged\n%v", tc.name, tc.code, tc.says, r)
		}
		assertUnchanged(t, file, old)
	}

	// Success: the command's stdout, with durable's stdin passed on, and
	// its stderr passed through.
	r := runBinary(t, dir, strings.NewReader("from stdin\n"), "write", "--json", "out", "--", "sh", "-c", "echo to-stderr >&2; cat; echo more")
	if r.code != exitOK || !strings.Contains(r.stderr, "to-stderr") {
		t.Fatalf("%v", r)
	}
	var res struct {
		File  string `json:"file"`
		Bytes int64  `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.File != "out" || res.Bytes != int64(len("from stdin\nmore\n")) {
		t.Errorf("--json: %v (%v)", r, err)
	}
	if got := testdir.ReadString(t, file); got != "from stdin\nmore\n" {
		t.Errorf("file holds %q", got)
	}
	// Flags may come after FILE, before "--"; the command's own flags are
	// its own.
	r = runBinary(t, dir, nil, "write", "out", "--backup", "--", "echo", "--backup")
	if r.code != exitOK || testdir.ReadString(t, file) != "--backup\n" || testdir.ReadString(t, file+".bak.1") != "from stdin\nmore\n" {
		t.Errorf("flags around --: %v", r)
	}
	if r := runBinary(t, dir, nil, "write", "out", "--"); r.code != exitUsage {
		t.Errorf("no command after --: %v", r)
	}
	// A FILE that starts with a dash follows a first "--", and the
	// command a second one.
	r = runBinary(t, dir, nil, "write", "--", "-dash", "--", "echo", "dashed")
	if r.code != exitOK || testdir.ReadString(t, filepath.Join(dir, "-dash")) != "dashed\n" {
		t.Errorf("write -- -dash -- echo: %v", r)
	}
	r = runBinary(t, dir, strings.NewReader("stdin"), "write", "--", "-dash")
	if r.code != exitOK || testdir.ReadString(t, filepath.Join(dir, "-dash")) != "stdin" {
		t.Errorf("write -- -dash: %v", r)
	}
}

func TestWriteChecks(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state.json")
	const old = `{"count":1}`
	reset := func() { os.WriteFile(file, []byte(old), 0o600) }
	reset()
	for _, tc := range []struct {
		name  string
		input string
		args  []string
		code  int
		says  string
	}{
		{"truncated JSON", `{"count":`, []string{"--check-json"}, exitCheckFailed, "ends inside"},
		{"not JSON", `not json`, []string{"--check-json"}, exitCheckFailed, "not valid JSON"},
		{"two values", `{} {}`, []string{"--check-json"}, exitCheckFailed, "not one JSON value"},
		{"1e400", `{"n":1e400}`, []string{"--check-json"}, exitCheckFailed, "float64"},
		{"bad UTF-8", "{\"s\":\"\xff\"}", []string{"--check-json"}, exitCheckFailed, "UTF-8"},
		{"check refuses", `{"count":2}`, []string{"--check", "grep -q never"}, exitCheckFailed, `--check "grep -q never" refused`},
		{"check not found", `{"count":2}`, []string{"--check", "durable-no-such-check-h20"}, exitCommandNotFound, "refused"},
		{"check after json", `[]`, []string{"--check-json", "--check", "grep -q count"}, exitCheckFailed, "refused"},
		{"command form", `ignored`, []string{"--check-json", "--", "echo", "{"}, exitCheckFailed, "--check-json"},
	} {
		args := append([]string{"write", "state.json"}, tc.args...)
		if tc.name != "command form" {
			args = append([]string{"write"}, append(tc.args, "state.json")...)
		}
		r := runBinary(t, dir, strings.NewReader(tc.input), args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.says) || !strings.Contains(r.stderr, "state.json is unchanged") {
			t.Errorf("%s: want exit %d saying %q\n%v", tc.name, tc.code, tc.says, r)
		}
		assertUnchanged(t, file, old)
	}
	for _, tc := range []struct {
		input string
		args  []string
	}{
		{`{"count":2}`, []string{"--check-json"}},
		{" [1, 2.5e300, 123456789012345678901234567890, \"é\"]\n", []string{"--check-json"}},
		{`{"count":3}`, []string{"--check", "grep -q count", "--check-json"}},
	} {
		reset()
		args := append([]string{"write"}, append(tc.args, "state.json")...)
		if r := runBinary(t, dir, strings.NewReader(tc.input), args...); r.code != exitOK {
			t.Errorf("%q with %v: %v", tc.input, tc.args, r)
		}
		if got := testdir.ReadString(t, file); got != tc.input {
			t.Errorf("file holds %q, want %q", got, tc.input)
		}
	}
	// The check sees the complete content on its stdin; its stdout goes to
	// stderr, keeping stdout for --json.
	r := runBinary(t, dir, strings.NewReader("line1\nline2\n"), "write", "--json", "--check", "wc -l", "state.json")
	if r.code != exitOK || !strings.Contains(r.stderr, "2") || !strings.HasPrefix(r.stdout, "{") {
		t.Errorf("check output: %v", r)
	}
}

// TestWriteInterrupted: a SIGTERM while stdin is still open leaves the
// file as it was and says so.
func TestWriteInterrupted(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, []byte("old"), 0o600)
	for _, args := range [][]string{{"write", "f"}, {"write", "f", "--", "sh", "-c", "echo partial; exec sleep 30"}} {
		stderr, err := terminate(t, func() (*exec.Cmd, *strings.Builder) {
			cmd := exec.Command(durableBinary(t), args...)
			cmd.Dir = dir
			stdin, _ := cmd.StdinPipe()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			cmd.WaitDelay = 10 * time.Second
			// The pipe holds the input until the child reads it, and
			// stays open, so the child is still waiting for more when
			// the signal comes (Wait closes our end).
			io.WriteString(stdin, "partial input")
			return cmd, &stderr
		}, func() { assertUnchanged(t, file, "old") })
		if err == nil || !strings.Contains(stderr, "f is unchanged") {
			t.Errorf("durable %v after SIGTERM: %v\n%s", args, err, stderr)
		}
		assertUnchanged(t, file, "old")
	}
}

// TestJSONLAppendStreams: lines are written as they arrive, not when the
// pipe closes, and an invalid line stops the append after the lines
// before it.
func TestJSONLAppendStreams(t *testing.T) {
	for _, verb := range [][]string{{"jsonl", "append", "y.jsonl"}, {"log", "append", "logdir"}} {
		dir := t.TempDir()
		cmd := exec.Command(durableBinary(t), verb...)
		cmd.Dir = dir
		stdin, _ := cmd.StdinPipe()
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		seen := func(want int) bool {
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				n := 0
				if verb[0] == "jsonl" {
					b, _ := os.ReadFile(filepath.Join(dir, "y.jsonl"))
					n = strings.Count(string(b), "\n")
				} else {
					out, _ := exec.Command(durableBinary(t), "log", "cat", filepath.Join(dir, "logdir")).Output()
					n = strings.Count(string(out), "\n")
				}
				if n >= want {
					return n == want
				}
				time.Sleep(20 * time.Millisecond)
			}
			return false
		}
		io.WriteString(stdin, `{"n":1}`+"\n")
		if !seen(1) {
			t.Errorf("%v: the first line was not written while the pipe stayed open", verb)
		}
		io.WriteString(stdin, `{"n":2}`+"\n"+`{"n":3}`+"\n")
		if !seen(3) {
			t.Errorf("%v: the next lines were not written while the pipe stayed open", verb)
		}
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("%v: %v\n%s", verb, err, stderr.String())
		}
	}

	dir := t.TempDir()
	r := runBinary(t, dir, strings.NewReader("{\"a\":1}\n\n{\"b\":2}\nnot json\n{\"c\":3}\n"), "jsonl", "append", "x.jsonl")
	if r.code != exitUsage || !strings.Contains(r.stderr, "line 4") || !strings.Contains(r.stderr, "2 line(s) before it were appended") {
		t.Errorf("invalid line: %v", r)
	}
	if got := testdir.ReadString(t, filepath.Join(dir, "x.jsonl")); got != "{\"a\":1}\n{\"b\":2}\n" {
		t.Errorf("file holds %q", got)
	}
	r = runBinary(t, dir, strings.NewReader("\"\xff\"\n"), "jsonl", "append", "z.jsonl")
	if r.code != exitUsage || !strings.Contains(r.stderr, "UTF-8") || !strings.Contains(r.stderr, "nothing was written") {
		t.Errorf("invalid UTF-8: %v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "z.jsonl")); err == nil {
		t.Error("a refused first line created the file")
	}
	for _, v := range []string{"1e400", "[-1e999]", "\"\xc3\""} {
		if r := runBinary(t, dir, nil, "jsonl", "append", "z.jsonl", v); r.code != exitUsage || !strings.Contains(r.stderr, "nothing was written") {
			t.Errorf("argument %q: %v", v, r)
		}
	}
}
