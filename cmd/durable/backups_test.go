package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/store"
)

// write --backup, store and edit keep backups in one scheme, the root
// package's: FILE.bak.1 the newest, shifting as many as FILE has; they
// make new files with one default mode, 0600 less the umask, as the
// library's store does; and fsck knows every backup name, the unnumbered
// FILE.bak of earlier releases included. All through the built binary.
func TestBackupsOneScheme(t *testing.T) {
	dir := testdir.New(t)
	run := func(stdin string, env []string, args ...string) result {
		t.Helper()
		cmd := exec.Command(durableBinary(t), args...)
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), env...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{code, out.String(), errb.String()}
	}
	p := func(name string) string { return filepath.Join(dir, name) }

	// write --backup: FILE.bak.1, never FILE.bak.
	for _, v := range []string{`{"v":1}`, `{"v":2}`, `{"v":3}`} {
		if r := run(v, nil, "write", "--backup", "w.json"); r.code != exitOK {
			t.Fatalf("write --backup: %v", r)
		}
	}
	if got := testdir.ReadString(t, p("w.json.bak.1")); got != `{"v":2}` {
		t.Errorf("w.json.bak.1 = %q, want the previous version", got)
	}
	if _, err := os.Lstat(p("w.json.bak")); err == nil {
		t.Error("write --backup made the unnumbered w.json.bak")
	}
	// A file with two backups (a store with Backups: 2 made them) keeps two.
	os.WriteFile(p("w.json.bak.2"), []byte(`{"v":0}`), 0o600)
	if r := run(`{"v":4}`, nil, "write", "--backup", "w.json"); r.code != exitOK {
		t.Fatalf("write --backup: %v", r)
	}
	if b1, b2 := testdir.ReadString(t, p("w.json.bak.1")), testdir.ReadString(t, p("w.json.bak.2")); b1 != `{"v":3}` || b2 != `{"v":2}` {
		t.Errorf("after a shift: bak.1 %q, bak.2 %q; want v3, v2", b1, b2)
	}

	// store and edit: the same names.
	if r := run("", nil, "store", "set", "s.json", "a", "1"); r.code != exitOK {
		t.Fatalf("store set: %v", r)
	}
	if r := run("", nil, "store", "set", "s.json", "a", "2"); r.code != exitOK {
		t.Fatalf("store set: %v", r)
	}
	if !strings.Contains(testdir.ReadString(t, p("s.json.bak.1")), `"a": 1`) {
		t.Errorf("store: s.json.bak.1 = %q", testdir.ReadString(t, p("s.json.bak.1")))
	}
	if runtime.GOOS != "windows" {
		editor := writeEditor(t, `{"a": 3}`)
		if r := run("", []string{"EDITOR=" + editor, "VISUAL="}, "edit", "s.json"); r.code != exitOK {
			t.Fatalf("edit: %v", r)
		}
		if !strings.Contains(testdir.ReadString(t, p("s.json.bak.1")), `"a": 2`) {
			t.Errorf("edit: s.json.bak.1 = %q", testdir.ReadString(t, p("s.json.bak.1")))
		}
	}

	// One default mode for new files: the CLI's verbs and the library.
	if runtime.GOOS != "windows" {
		// 0600 less the umask is what creating a 0600 file gives.
		probe, err := os.OpenFile(p("probe"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		probe.Close()
		pi, _ := os.Stat(p("probe"))
		os.Remove(p("probe"))
		want := pi.Mode().Perm()
		lib, err := store.Open[map[string]int](p("lib.json"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lib.Update(context.Background(), func(m *map[string]int) error { *m = map[string]int{"a": 1}; return nil }); err != nil {
			t.Fatal(err)
		}
		if r := run("{\"x\":1}\n", nil, "jsonl", "append", "l.jsonl"); r.code != exitOK {
			t.Fatalf("jsonl append: %v", r)
		}
		for _, f := range []string{"w.json", "s.json", "lib.json", "l.jsonl"} {
			fi, err := os.Stat(p(f))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("new %s has mode %v, want %v", f, fi.Mode().Perm(), want)
			}
		}
		// An existing file keeps its mode.
		os.Chmod(p("s.json"), 0o644)
		run("", nil, "store", "set", "s.json", "a", "4")
		run(`{"v":5}`, nil, "write", "--backup", "s.json")
		if fi, _ := os.Stat(p("s.json")); fi.Mode().Perm() != 0o644 {
			t.Errorf("an existing 0644 file became %v", fi.Mode().Perm())
		}
	}

	// fsck: a backup that does not parse is reported as one, whatever its
	// number, the legacy unnumbered one included; good ones are quiet.
	os.WriteFile(p("s.json.bak"), []byte(`{"legacy":`), 0o600)
	os.WriteFile(p("s.json.bak.7"), []byte(`{"seven":`), 0o600)
	r := run("", nil, append(append([]string{"fsck", "--json"}, fsckNow...), dir)...)
	var out fsckJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("fsck --json: %v\n%v", err, r)
	}
	kinds := map[string]string{}
	for _, f := range out.Findings {
		kinds[filepath.Base(f.Path)] = f.Kind
	}
	for _, name := range []string{"s.json.bak", "s.json.bak.7"} {
		if kinds[name] != "corrupt-backup" {
			t.Errorf("fsck on the broken %s: %q, want corrupt-backup (findings %v)", name, kinds[name], kinds)
		}
	}
	for _, name := range []string{"s.json.bak.1", "w.json.bak.1", "w.json.bak.2"} {
		if k, ok := kinds[name]; ok {
			t.Errorf("fsck reports the good backup %s: %s", name, k)
		}
	}
	// The names fsck was handed are the root package's.
	if of, n, ok := durable.ParseBackupName("s.json.bak.7"); !ok || of != "s.json" || n != 7 {
		t.Errorf("ParseBackupName: %q %d %v", of, n, ok)
	}
}

// A recovery from a backup is not a failure: store get prints the
// recovered value, exits 0 and says what happened, on stderr or, with
// --json, in "warnings".
func TestStoreRecoveryWarns(t *testing.T) {
	dir := testdir.New(t)
	file := filepath.Join(dir, "c.json")
	for _, v := range []string{"1", "2"} {
		if r := runCLI(t, nil, "store", "set", file, "a", v); r.code != exitOK {
			t.Fatalf("store set: %v", r)
		}
	}
	os.WriteFile(file, []byte(`{"a": `), 0o600)
	r := runCLI(t, nil, "store", "get", file, "a")
	if r.code != exitOK || strings.TrimSpace(r.stdout) != "1" || !strings.Contains(r.stderr, "warning") || !strings.Contains(r.stderr, "bak.1") {
		t.Fatalf("get of a torn file: %v", r)
	}
	os.WriteFile(file, []byte(`{"a": `), 0o600)
	r = runCLI(t, nil, "store", "get", "--json", file, "a")
	var out struct {
		Value    json.RawMessage `json:"value"`
		Warnings []string        `json:"warnings"`
	}
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &out) != nil || string(out.Value) != "1" ||
		len(out.Warnings) != 1 || !strings.Contains(out.Warnings[0], "corrupt") || r.stderr != "" {
		t.Fatalf("get --json of a torn file: %v", r)
	}
}
