package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
)

// TestOneJSONRule: jsonl, store and write --check-json accept the same
// JSON (valid UTF-8, numbers within a float64), store bounds key paths and
// nesting with a clear error, and duplicate keys are reported by get and
// fsck.
func TestOneJSONRule(t *testing.T) {
	dir := testdir.New(t)
	doc := filepath.Join(dir, "doc.json")
	os.WriteFile(doc, []byte(`{"a":1}`), 0o600)
	deepKey := strings.TrimSuffix(strings.Repeat("k.", 5000), ".")
	deepValue := strings.Repeat("[", 300) + strings.Repeat("]", 300)
	for _, tc := range []struct {
		args  []string
		stdin string
		says  string
	}{
		{[]string{"store", "set", "doc.json", "x", "1e400"}, "", "float64"},
		{[]string{"store", "set", "doc.json", "x", "\"\xff\""}, "", "UTF-8"},
		{[]string{"jsonl", "append", "l.jsonl", "1e400"}, "", "float64"},
		{[]string{"jsonl", "append", "l.jsonl", "\"\xff\""}, "", "UTF-8"},
		{[]string{"jsonl", "append", "l.jsonl"}, "{\"n\":-1e999}\n", "float64"},
		{[]string{"store", "set", "doc.json", deepKey, "1"}, "", "at most 64"},
		{[]string{"store", "set", "doc.json", "x", deepValue}, "", "at most 256"},
	} {
		r := runBinary(t, dir, strings.NewReader(tc.stdin), tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.says) || strings.Contains(r.stderr, "MarshalJSON") {
			t.Errorf("durable %.60q: want exit %d saying %q\n%.400v", tc.args, exitUsage, tc.says, r)
		}
	}
	if got := testdir.ReadString(t, doc); got != `{"a":1}` {
		t.Errorf("refused sets changed the document: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "l.jsonl")); err == nil {
		t.Error("refused appends created the JSON Lines file")
	}
	// What one accepts, the others accept.
	for _, v := range []string{"1.7976931348623157e308", "123456789012345678901234567890", `"é"`} {
		for _, args := range [][]string{{"store", "set", "doc.json", "ok", v}, {"jsonl", "append", "l.jsonl", v}} {
			if r := runBinary(t, dir, nil, args...); r.code != exitOK {
				t.Errorf("durable %q: %v", args, r)
			}
		}
		if r := runBinary(t, dir, strings.NewReader(v), "write", "--check-json", "w.json"); r.code != exitOK {
			t.Errorf("write --check-json of %s: %v", v, r)
		}
	}

	// Duplicate keys: get says so, fsck reports it.
	os.WriteFile(doc, []byte(`{"a":{"k":1,"k":2}}`), 0o600)
	r := runBinary(t, dir, nil, "store", "get", "doc.json", "a.k")
	if r.code != exitOK || r.stdout != "2\n" || !strings.Contains(r.stderr, `key "k" twice`) || !strings.Contains(r.stderr, ".a") {
		t.Errorf("store get of a duplicate key: %v", r)
	}
	r = runBinary(t, dir, nil, "store", "get", "--json", "doc.json", "a.k")
	if r.code != exitOK || !strings.Contains(r.stdout, `"warnings"`) {
		t.Errorf("store get --json of a duplicate key: %v", r)
	}
	r = runBinary(t, dir, nil, "fsck", ".")
	if r.code != exitFsckProblems || !strings.Contains(r.stdout+r.stderr, "duplicate-keys") {
		t.Errorf("fsck of a document with a duplicate key: %v", r)
	}
	if r := runBinary(t, dir, nil, "store", "get", "doc.json", "nope"); r.code != exitNotFound {
		t.Errorf("store get of a missing key: want exit %d\n%v", exitNotFound, r)
	}
	if r := runBinary(t, dir, nil, "store", "get", "missing.json"); r.code != exitNotFound {
		t.Errorf("store get of a missing file: want exit %d\n%v", exitNotFound, r)
	}
}
