//go:build unix

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// checkSchema parses out (one object, or one per line) and checks every
// key is snake_case and no value is an array of small numbers (a byte
// array, as a Go [32]byte marshals).
func checkSchema(t *testing.T, what, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Errorf("%s: not JSON: %v\n%s", what, err, out)
			return nil
		}
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					if !snakeKey.MatchString(k) {
						t.Errorf("%s: key %q at %s is not snake_case", what, k, path)
					}
					walk(path+"."+k, x)
				}
			case []any:
				if len(v) >= 16 {
					if _, ok := v[0].(float64); ok {
						t.Errorf("%s: %s is an array of %d numbers (bytes?)", what, path, len(v))
					}
				}
				for i, x := range v {
					walk(path+"[]", x)
					_ = i
				}
			}
		}
		walk("", v)
		if m, ok := v.(map[string]any); ok {
			objs = append(objs, m)
		} else if a, ok := v.([]any); ok {
			for _, x := range a {
				if m, ok := x.(map[string]any); ok {
					objs = append(objs, m)
				}
			}
		}
	}
	if len(objs) == 0 && out != "[]\n" {
		t.Errorf("%s: no JSON object printed:\n%s", what, out)
	}
	return objs
}

func TestJSONSchemaEveryVerb(t *testing.T) {
	dir := t.TempDir()
	run := func(stdin string, args ...string) result {
		t.Helper()
		r := runBinary(t, dir, strings.NewReader(stdin), args...)
		checkSchema(t, strings.Join(args, " "), r.stdout)
		return r
	}
	run("{\"a\":1}", "write", "--json", "doc.json")
	run("", "write", "--json", "empty.json") // an error, as JSON
	run("", "jsonl", "append", "--json", "x.jsonl", `{"k":1}`)
	run("", "jsonl", "repair", "--json", "x.jsonl")
	run("", "store", "set", "--json", "doc.json", "b.c", "2")
	run("", "store", "get", "--json", "doc.json", "b")
	if r := run("", "store", "get", "--json", "doc.json", "nope"); r.code != exitNotFound {
		t.Errorf("store get of a missing key: want exit %d\n%v", exitNotFound, r)
	}
	run("", "store", "incr", "--json", "doc.json", "n")
	run("", "lock", "--json", "doc.json", "--", "true")
	edit := exec.Command(durableBinary(t), "edit", "--json", "doc.json")
	edit.Dir = dir
	edit.Env = append(os.Environ(), "EDITOR=true", "VISUAL=")
	out, _ := edit.Output()
	if objs := checkSchema(t, "edit --json", string(out)); len(objs) == 1 && objs[0]["changed"] != false {
		t.Errorf("edit --json with an editor that changes nothing: %s", out)
	}
	run("", "queue", "push", "--json", "q", "text", "more")
	runBinary(t, dir, strings.NewReader("\xff\xfe\n"), "queue", "push", "q")
	pop := run("", "queue", "pop", "--json", "q")
	run("", "queue", "ack", "--json", "q", "0.1")
	run("", "queue", "pop", "--json", "q")
	run("", "queue", "nack", "--json", "q", "1.1")
	run("", "queue", "ls", "--json", "q")
	run("", "queue", "dead", "--json", "q")
	var m map[string]any
	json.Unmarshal([]byte(pop.stdout), &m)
	if m["payload"] != "text" || m["payload_encoding"] != "text" {
		t.Errorf("queue pop --json: %s", pop.stdout)
	}
	// Binary payloads keep the field: base64 in "payload".
	seen := false
	for range 2 {
		r := run("", "queue", "pop", "--json", "--no-wait", "q")
		m = nil
		json.Unmarshal([]byte(r.stdout), &m)
		if m["payload_encoding"] == "base64" {
			seen = true
			if m["payload"] != "//4=" {
				t.Errorf("binary payload: %s", r.stdout)
			}
		}
	}
	if !seen {
		t.Error("the binary payload was not popped as base64 in \"payload\"")
	}

	if r := runBinary(t, dir, nil, "log", "keygen", "k"); r.code != exitOK {
		t.Fatalf("keygen: %v", r)
	}
	run("one\ntwo\nthree\nfour\n", "log", "append", "--json", "lg")
	runBinary(t, dir, strings.NewReader("\xff\n"), "log", "append", "lg")
	cat := run("", "log", "cat", "--json", "lg")
	if lines := strings.Split(strings.TrimSpace(cat.stdout), "\n"); len(lines) != 5 ||
		!strings.Contains(lines[0], `"payload":"one"`) || !strings.Contains(lines[4], `"payload_encoding":"base64"`) {
		t.Errorf("log cat --json:\n%s", cat.stdout)
	}
	cp := runBinary(t, dir, nil, "log", "checkpoint", "--key", "k.key", "lg")
	if cp.code != exitOK {
		t.Fatalf("checkpoint: %v", cp)
	}
	// The checkpoint's root line, verify's and proof's: one encoding.
	cpRoot := strings.Split(cp.stdout, "\n")[2]
	v := run("", "log", "verify", "--json", "--pub", "k.pub", "lg")
	var rep map[string]any
	json.Unmarshal([]byte(v.stdout), &rep)
	if rep["root"] != cpRoot {
		t.Errorf("verify --json root %v, checkpoint root %q", rep["root"], cpRoot)
	}
	pr := run("", "log", "proof", "--json", "lg", "2")
	json.Unmarshal([]byte(pr.stdout), &rep)
	if rep["root"] != cpRoot {
		t.Errorf("proof --json root %v, checkpoint root %q", rep["root"], cpRoot)
	}
	vt := runBinary(t, dir, nil, "log", "verify", "lg")
	if !strings.Contains(vt.stdout, "5 records (indices 0 to 4)") || !strings.Contains(vt.stdout, "root "+cpRoot) {
		t.Errorf("log verify text: %v", vt)
	}
	os.Mkdir(filepath.Join(dir, "none"), 0o700)
	if r := runBinary(t, dir, nil, "log", "append", "lg0", "x"); r.code != exitOK {
		t.Fatal(r)
	}
	run("", "fsck", "--json", ".")
	run("", "version", "--json")
}

// TestErrorsSayDurableOnce: the library's sentinels carry "durable: ";
// the CLI says it once.
func TestErrorsSayDurableOnce(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "real"), []byte("x"), 0o600)
	os.Symlink("real", filepath.Join(dir, "link"))
	for _, args := range [][]string{
		{"write", "--no-follow", "link"},
		{"lock", "--timeout", "0", "held", "--", "true"},
	} {
		if args[0] == "lock" {
			holder := exec.Command(durableBinary(t), "lock", "held", "--", "sleep", "2")
			holder.Dir = dir
			holder.Start()
			defer holder.Wait()
			for i := 0; i < 100; i++ {
				if r := runBinary(t, dir, nil, "lock", "--timeout", "0", "held", "--", "true"); r.code == exitLocked {
					break
				}
			}
		}
		r := runBinary(t, dir, strings.NewReader("new"), args...)
		if r.code == exitOK || strings.Count(r.stderr, "durable:") != 1 {
			t.Errorf("durable %v: want one \"durable:\" in the error\n%v", args, r)
		}
	}
}
