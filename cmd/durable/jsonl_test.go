package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/jsonl"
)

// runJSONLVerb runs "durable jsonl args..." through jsonlVerb().run with
// buffer streams, whether or not the verb is in the verbs table yet.
func runJSONLVerb(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	return runVerb(t, jsonlVerb(), stdin, args...)
}

func TestJSONLAppend(t *testing.T) {
	file := filepath.Join(testdir.New(t), "events.jsonl")
	r := runJSONLVerb(t, nil, "append", file, `{"event":"start","pid":42}`, "[1, 2]", `"s"`)
	if r.code != exitOK || r.stdout != "" || r.stderr != "" {
		t.Fatalf("append: %v", r)
	}
	r = runJSONLVerb(t, strings.NewReader("{\"a\":1}\n\n  \n{\"c\":3}\n"), "append", "--json", file)
	if r.code != exitOK {
		t.Fatalf("append from stdin: %v", r)
	}
	var out struct {
		File       string `json:"file"`
		Appended   int    `json:"appended"`
		Durability string `json:"durability"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Appended != 2 || out.Durability != "full" {
		t.Fatalf("--json output %q: %v", r.stdout, err)
	}
	want := `{"event":"start","pid":42}` + "\n[1, 2]\n\"s\"\n" + `{"a":1}` + "\n" + `{"c":3}` + "\n"
	if got := testdir.ReadString(t, file); got != want {
		t.Fatalf("file holds %q, want %q", got, want)
	}

	// A pretty-printed value is compacted onto one line.
	if r := runJSONLVerb(t, nil, "append", "--no-sync", file, "{\n \"p\": true\n}"); r.code != exitOK {
		t.Fatalf("append of a multi-line value: %v", r)
	}
	if got := testdir.ReadString(t, file); !strings.HasSuffix(got, "\n{\"p\":true}\n") {
		t.Fatalf("file ends %q", got)
	}
}

func TestJSONLAppendRefusesInvalidJSON(t *testing.T) {
	dir := testdir.New(t)
	file := filepath.Join(dir, "new.jsonl")
	r := runJSONLVerb(t, nil, "append", file, `{"ok":1}`, `{"broken":`)
	if r.code != exitUsage || !strings.Contains(r.stderr, "argument 3 is not valid JSON") || !strings.Contains(r.stderr, "nothing was written") {
		t.Fatalf("invalid argument: %v", r)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("a refused append created the file: %v", err)
	}
	os.WriteFile(file, []byte("[0]\n"), 0o600)
	r = runJSONLVerb(t, nil, "append", "--json", file, "{")
	if r.code != exitUsage || !strings.Contains(r.stdout, `"code": 2`) {
		t.Fatalf("invalid argument with --json: %v", r)
	}
	if got := testdir.ReadString(t, file); got != "[0]\n" {
		t.Fatalf("a refused append changed the file: %q", got)
	}
	// Stdin is appended as it arrives: the lines before a bad one were
	// acknowledged and stay; nothing from the bad one on is written.
	r = runJSONLVerb(t, strings.NewReader("[1]\n[2]\nnot json\n[4]\n"), "append", file)
	if r.code != exitUsage || !strings.Contains(r.stderr, "stdin line 3 is not valid JSON") ||
		!strings.Contains(r.stderr, "the 2 line(s) before it were appended") {
		t.Fatalf("invalid stdin line: %v", r)
	}
	if got := testdir.ReadString(t, file); got != "[0]\n[1]\n[2]\n" {
		t.Fatalf("after a bad stdin line the file holds %q", got)
	}
}

func TestJSONLAppendRepairsFirst(t *testing.T) {
	file := filepath.Join(testdir.New(t), "log.jsonl")
	os.WriteFile(file, []byte("{\"a\":1}\n{\"b\":2,\"c"), 0o600)
	r := runJSONLVerb(t, nil, "append", file, `{"d":4}`)
	if r.code != exitOK || !strings.Contains(r.stderr, "repaired") || !strings.Contains(r.stderr, ".torn.") {
		t.Fatalf("append to a torn file: %v", r)
	}
	if got := testdir.ReadString(t, file); got != "{\"a\":1}\n{\"d\":4}\n" {
		t.Fatalf("file holds %q", got)
	}
	// A corrupt middle stops it, with exit code 8, unless allowed.
	os.WriteFile(file, []byte("{\"a\":1}\ngarbage\n{\"b\":2}\n"), 0o600)
	if r := runJSONLVerb(t, nil, "append", file, "[1]"); r.code != exitCorrupt || !strings.Contains(r.stderr, "line 2") {
		t.Fatalf("append to a corrupt file: %v", r)
	}
	if r := runJSONLVerb(t, nil, "append", "--allow-corrupt", file, "[1]"); r.code != exitOK {
		t.Fatalf("append --allow-corrupt: %v", r)
	}
}

func TestJSONLRepair(t *testing.T) {
	file := filepath.Join(testdir.New(t), "session.jsonl")
	os.WriteFile(file, []byte("{\"a\":1}\n{\"b\":2}\n{\"c\":3,\"te\x00\x00"), 0o600)
	r := runJSONLVerb(t, nil, "repair", file)
	if r.code != exitOK || !strings.Contains(r.stdout, "cut a torn tail with zero bytes (12 bytes at line 3, byte 16") ||
		!strings.Contains(r.stdout, "saved in "+file+".torn.") {
		t.Fatalf("repair: %v", r)
	}
	if got := testdir.ReadString(t, file); got != "{\"a\":1}\n{\"b\":2}\n" {
		t.Fatalf("file holds %q", got)
	}
	r = runJSONLVerb(t, nil, "repair", "--json", file)
	var rep jsonl.RepairReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != exitOK || rep.Lines != 2 || rep.Changed() {
		t.Fatalf("repair --json of a clean file: %v (%v)", r, err)
	}
	if r := runJSONLVerb(t, nil, "repair", file); !strings.Contains(r.stdout, "nothing to repair") {
		t.Fatalf("repair of a clean file: %v", r)
	}

	// A corrupt middle: listed, exit 8, nothing changed; then allowed.
	os.WriteFile(file, []byte("{\"a\":1}\n{\"a\":2}{\"a\":3}\n{\"a\":4}\n{\"a\""), 0o600)
	r = runJSONLVerb(t, nil, "repair", file)
	if r.code != exitCorrupt || !strings.Contains(r.stderr, "line 2 (byte 8, 14 bytes)") || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("repair of a corrupt file: %v", r)
	}
	r = runJSONLVerb(t, nil, "repair", "--json", file)
	if r.code != exitCorrupt || !strings.Contains(r.stdout, `"code": 8`) || !strings.Contains(r.stdout, `"corrupt_lines": 1`) {
		t.Fatalf("repair --json of a corrupt file: %v", r)
	}
	r = runJSONLVerb(t, nil, "repair", "--allow-corrupt", file)
	if r.code != exitOK || !strings.Contains(r.stdout, "cut a torn last line") || !strings.Contains(r.stdout, "line 2 (byte 8") {
		t.Fatalf("repair --allow-corrupt: %v", r)
	}
	if r := runJSONLVerb(t, nil, "repair", filepath.Join(testdir.New(t), "missing")); r.code != exitNotFound {
		t.Fatalf("repair of a missing file: %v", r)
	}
}

func TestJSONLUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stream string // "stdout" or "stderr"
		want   string
	}{
		{[]string{"--help"}, exitOK, "stdout", "usage: durable jsonl [flags] append|repair FILE ..."},
		{[]string{"--help"}, exitOK, "stdout", "Example:\n  $ durable jsonl append"},
		{[]string{"append", "--help"}, exitOK, "stdout", "usage: durable jsonl append [flags] FILE [JSON...]"},
		{[]string{"append", "-h"}, exitOK, "stdout", "--allow-corrupt"},
		{[]string{"repair", "--help"}, exitOK, "stdout", "usage: durable jsonl repair [flags] FILE"},
		{nil, exitUsage, "stderr", "want a subcommand"},
		{[]string{"frob"}, exitUsage, "stderr", `unknown subcommand "frob"`},
		{[]string{"--no-such-flag"}, exitUsage, "stderr", "usage: durable jsonl"},
		{[]string{"append"}, exitUsage, "stderr", "want FILE"},
		{[]string{"append", "--mode", "999", "f", "1"}, exitUsage, "stderr", "--mode"},
		{[]string{"repair"}, exitUsage, "stderr", "want one FILE"},
		{[]string{"repair", "--bogus", "f"}, exitUsage, "stderr", "usage: durable jsonl repair"},
	} {
		r := runJSONLVerb(t, nil, tc.args...)
		got := r.stdout
		if tc.stream == "stderr" {
			got = r.stderr
		}
		if r.code != tc.code || !strings.Contains(got, tc.want) {
			t.Errorf("durable jsonl %q: want exit %d and %s containing %q; got %v", tc.args, tc.code, tc.stream, tc.want, r)
		}
	}
}

// An append reads only the end of a large file, so a corrupt line far back
// does not stop it; fsck and repair read every line and report that line.
func TestJSONLAppendChecksTheEndFsckTheWhole(t *testing.T) {
	dir := testdir.New(t)
	file := filepath.Join(dir, "big.jsonl")
	line := `{"seq":1,"text":"` + strings.Repeat("x", 180) + "\"}\n"
	big := "not json\n" + strings.Repeat(line, (2<<20)/len(line))
	if err := os.WriteFile(file, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runJSONLVerb(t, nil, "append", file, `{"after":true}`); r.code != exitOK {
		t.Fatalf("append to a 2 MiB file with a corrupt first line: %v", r)
	}
	if got := testdir.ReadString(t, file); !strings.HasSuffix(got, "\n{\"after\":true}\n") || !strings.HasPrefix(got, "not json\n") {
		t.Fatalf("file ends %q", got[len(got)-40:])
	}
	r := runCLI(t, nil, append([]string{"fsck", "--json"}, append(fsckNow, dir)...)...)
	var out fsckJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != exitFsckProblems {
		t.Fatalf("fsck: %v (%v)", r, err)
	}
	found := false
	for _, f := range out.Findings {
		found = found || f.Path == file && f.Problem && strings.Contains(f.Detail, "line 1 (byte 0)")
	}
	if !found {
		t.Errorf("fsck does not report the corrupt first line: %+v", out.Findings)
	}
	if r := runJSONLVerb(t, nil, "repair", file); r.code != exitCorrupt || !strings.Contains(r.stderr, "line 1 (byte 0") {
		t.Errorf("repair: %v", r)
	}
}
