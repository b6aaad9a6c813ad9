package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
)

type fsckJSON struct {
	Version  int
	Fix      bool
	Dirs     []string
	Findings []struct {
		Path     string
		Kind     string
		Problem  bool
		Detail   string
		Fixable  bool
		Action   string
		Fixed    bool
		FixError string `json:"fix_error"`
		Result   string
	}
	Summary struct {
		Problems, Fixed, Remaining, Fixable, Notes int
	}
	Checked struct {
		Dirs, Files, Documents, JSONL, Journals, Queues, Temps int
	}
	Code int
}

func writeFile(t *testing.T, path, data string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

// A temp file is judged orphaned once it is older than --grace (Linux, no
// process has it open) or --older-than; a nanosecond makes a file just
// written old enough.
var fsckNow = []string{"--grace", "1ns", "--older-than", "1ns"}

func TestFsckVerb(t *testing.T) {
	dir := testdir.New(t)
	p := func(parts ...string) string { return filepath.Join(append([]string{dir}, parts...)...) }

	// A clean directory: exit 0, and it says so.
	writeFile(t, p("cfg.json"), `{"port": 80}`, 0o644)
	writeFile(t, p("cfg.json.bak.1"), `{"port": 79}`, 0o644)
	r := runCLI(t, nil, append([]string{"fsck"}, append(fsckNow, dir)...)...)
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "fsck: no problems; checked 1 directory, 2 files, 1 document") || r.stderr != "" {
		t.Fatalf("fsck of a clean directory: %v", r)
	}

	// One problem of several kinds.
	writeFile(t, p(".cfg.json.abcdefghijkl.tmp"), `{"po`, 0o644)
	writeFile(t, p("cfg.json"), `{"port": 8`, 0o644)
	writeFile(t, p("zeros.json"), "\x00\x00", 0o644)
	writeFile(t, p("sub", "t.jsonl"), "{\"a\":1}\n{\"b", 0o644)
	secrets := runtime.GOOS != "windows"
	if secrets {
		writeFile(t, p("tokens.json"), `{"accounts":{"x":{"refresh_token":"r"}}}`, 0o644)
	}
	args := append([]string{"fsck"}, append(fsckNow, dir)...)
	r = runCLI(t, nil, args...)
	if r.code != exitFsckProblems || r.stderr != "" {
		t.Fatalf("fsck: %v", r)
	}
	for _, want := range []string{
		p(".cfg.json.abcdefghijkl.tmp") + ": orphaned-temp: ",
		"--fix removes it",
		p("cfg.json") + ": corrupt-document: does not parse",
		"--fix restores cfg.json.bak.1",
		p("zeros.json") + ": corrupt-document: does not parse: the file is all zero bytes; not fixable",
		p("sub", "t.jsonl") + ": torn-jsonl: ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("fsck does not say %q:\n%s", want, r.stdout)
		}
	}
	problems := 4
	if secrets {
		problems++
		if !strings.Contains(r.stdout, p("tokens.json")+": insecure-secret: ") {
			t.Errorf("fsck does not report the token file:\n%s", r.stdout)
		}
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != problems+2 || !strings.HasPrefix(lines[problems], "fsck: ") ||
		!strings.Contains(lines[problems], "problems;") || lines[problems+1] != "run with --fix to repair "+itoa(problems-1)+" of them" {
		t.Errorf("want one line per finding and a summary:\n%s", r.stdout)
	}
	// Nothing changed.
	if b, _ := os.ReadFile(p("cfg.json")); string(b) != `{"port": 8` {
		t.Errorf("fsck without --fix changed cfg.json: %q", b)
	}
	if _, err := os.Stat(p("cfg.json.lock")); err == nil {
		t.Error("fsck without --fix created a lock file")
	}

	// --json: the same, as one document.
	r = runCLI(t, nil, append([]string{"fsck", "--json"}, append(fsckNow, dir)...)...)
	var js fsckJSON
	if r.code != exitFsckProblems || json.Unmarshal([]byte(r.stdout), &js) != nil {
		t.Fatalf("fsck --json: %v", r)
	}
	if js.Version != 1 || js.Fix || js.Code != exitFsckProblems || len(js.Findings) != problems ||
		js.Summary.Problems != problems || js.Summary.Remaining != problems || js.Summary.Fixable != problems-1 ||
		js.Checked.Documents != 2+btoi(secrets) || js.Checked.JSONL != 1 || js.Checked.Temps != 1 || len(js.Dirs) != 1 {
		t.Fatalf("fsck --json: %+v\n%s", js, r.stdout)
	}
	for _, f := range js.Findings {
		if f.Path == "" || f.Kind == "" || f.Detail == "" || f.Action == "" || !f.Problem || f.Fixed {
			t.Errorf("finding %+v", f)
		}
	}

	// --fix: everything but the zeroed file is repaired; exit 11 since
	// that one remains.
	r = runCLI(t, nil, append([]string{"fsck", "--fix"}, append(fsckNow, dir)...)...)
	if r.code != exitFsckProblems {
		t.Fatalf("fsck --fix: %v", r)
	}
	for _, want := range []string{
		p(".cfg.json.abcdefghijkl.tmp") + ": orphaned-temp: ", "; fixed: removed",
		"; fixed: restored cfg.json.bak.1; the damaged file is kept as cfg.json.corrupt.",
		"; fixed: cut 3 bytes at byte 8, kept in t.jsonl.torn.",
		itoa(problems) + " problems, " + itoa(problems-1) + " fixed, 1 remain",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("fsck --fix does not say %q:\n%s", want, r.stdout)
		}
	}
	if b, _ := os.ReadFile(p("cfg.json")); string(b) != `{"port": 79}` {
		t.Errorf("cfg.json after --fix: %q", b)
	}
	if b, _ := os.ReadFile(p("zeros.json")); string(b) != "\x00\x00" {
		t.Errorf("--fix changed zeros.json, which it cannot fix: %q", b)
	}
	if secrets {
		if fi, _ := os.Stat(p("tokens.json")); fi.Mode().Perm() != 0o600 {
			t.Errorf("tokens.json after --fix: %v", fi.Mode())
		}
	}

	// Once the rest is dealt with by hand: notes only, exit 0.
	os.Remove(p("zeros.json"))
	r = runCLI(t, nil, append([]string{"fsck", "--fix"}, append(fsckNow, dir)...)...)
	if r.code != exitOK || !strings.Contains(r.stdout, "note: "+p("cfg.json.corrupt.")) || !strings.Contains(r.stdout, "fsck: no problems, 2 notes;") {
		t.Fatalf("fsck --fix with nothing left to fix: %v", r)
	}

	// --fix that repairs everything: exit 12, in JSON too.
	writeFile(t, p(".cfg.json.bcdefghijklm.tmp"), `{"po`, 0o644)
	r = runCLI(t, nil, append([]string{"fsck", "--fix", "--json"}, append(fsckNow, dir)...)...)
	js = fsckJSON{}
	if r.code != exitFsckFixed || json.Unmarshal([]byte(r.stdout), &js) != nil || js.Code != exitFsckFixed || !js.Fix ||
		js.Summary.Problems != 1 || js.Summary.Fixed != 1 || js.Summary.Remaining != 0 || js.Summary.Notes != 2 {
		t.Fatalf("fsck --fix --json: %v", r)
	}
}

func TestFsckVerbUsage(t *testing.T) {
	if r := runCLI(t, nil, "fsck"); r.code != exitUsage || !strings.Contains(r.stderr, "want at least one DIR") {
		t.Errorf("fsck without DIR: %v", r)
	}
	if r := runCLI(t, nil, "fsck", "--grace", "0s", "."); r.code != exitUsage {
		t.Errorf("fsck --grace 0s: %v", r)
	}
	missing := filepath.Join(testdir.New(t), "missing")
	if r := runCLI(t, nil, "fsck", missing); r.code != exitNotFound || !strings.Contains(r.stderr, missing) {
		t.Errorf("fsck of a missing directory: %v", r)
	}
	r := runCLI(t, nil, "fsck", "--json", missing)
	var e struct {
		Error string
		Code  int
	}
	if r.code != exitNotFound || json.Unmarshal([]byte(r.stdout), &e) != nil || e.Code != exitNotFound || !strings.Contains(e.Error, missing) {
		t.Errorf("fsck --json of a missing directory: %v", r)
	}
	r = runCLI(t, nil, "fsck", "--help")
	for _, want := range []string{"orphaned-temp", "/proc", "--older-than", "insecure-secret", `"version": 1`, "12: --fix repaired every problem"} {
		if r.code != exitOK || !strings.Contains(r.stdout, want) {
			t.Errorf("fsck --help does not mention %q: %v", want, r)
		}
	}
	if r := runCLI(t, nil, "--help"); !strings.Contains(r.stdout, "11  fsck found problems") || !strings.Contains(r.stdout, "12  fsck --fix repaired") {
		t.Errorf("durable --help does not list the fsck exit codes:\n%s", r.stdout)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
