package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
)

// runVerb runs one verb's run function with buffer streams, as the verbs
// table would once it lists the verb.
func runVerb(t *testing.T, v verb, stdin io.Reader, args ...string) result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr bytes.Buffer
	c := &cli{ctx: context.Background(), stdin: stdin, stdout: &stdout, stderr: &stderr, verb: v}
	code := v.run(c, args)
	return result{code, stdout.String(), stderr.String()}
}

func storeCmd(t *testing.T, args ...string) result {
	t.Helper()
	return runVerb(t, storeVerb(), nil, args...)
}

func readJSON(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s does not parse: %v\n%s", file, err, b)
	}
	return m
}

func TestStoreSetGetDeleteIncr(t *testing.T) {
	file := filepath.Join(testdir.New(t), "cfg", "config.json")
	for _, args := range [][]string{
		{"set", file, "server.port", "8080"},
		{"set", file, "server.host", `"example.org"`},
		{"set", file, `dotted\.key`, `{"a": [1, 2]}`},
		{"set", file, "name", `"<&>"`},
	} {
		if r := storeCmd(t, args...); r.code != exitOK || r.stdout != "" {
			t.Fatalf("store %v: %v", args, r)
		}
	}
	fi, _ := os.Stat(file)
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v, want 0600", fi.Mode())
	}
	want := "{\n  \"server\": {\n    \"port\": 8080,\n    \"host\": \"example.org\"\n  },\n  \"dotted.key\": {\n    \"a\": [\n      1,\n      2\n    ]\n  },\n  \"name\": \"<&>\"\n}\n"
	if b, _ := os.ReadFile(file); string(b) != want {
		t.Fatalf("file:\n%s\nwant:\n%s", b, want)
	}
	if r := storeCmd(t, "get", file, "server.port"); r.code != exitOK || r.stdout != "8080\n" {
		t.Errorf("get server.port: %v", r)
	}
	if r := storeCmd(t, "get", file, "server.host", "--raw"); r.code != exitOK || r.stdout != "example.org\n" {
		t.Errorf("get --raw: %v", r)
	}
	if r := storeCmd(t, "get", file, `dotted\.key.a`); r.code != exitOK || r.stdout != "[\n  1,\n  2\n]\n" {
		t.Errorf("get escaped path: %v", r)
	}
	if r := storeCmd(t, "get", file, "server.nope"); r.code != exitNotFound || !strings.Contains(r.stderr, "no key server.nope") {
		t.Errorf("get missing key: %v", r)
	}
	r := storeCmd(t, "get", "--json", file, "server")
	var out struct {
		File  string
		Rev   string
		Value map[string]any
	}
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &out) != nil || out.Value["port"] != 8080.0 || !strings.HasPrefix(out.Rev, "v1:") {
		t.Errorf("get --json: %v", r)
	}
	for i := 1; i <= 3; i++ {
		if r := storeCmd(t, "incr", file, "stats.runs"); r.code != exitOK || r.stdout != strconv.Itoa(i)+"\n" {
			t.Fatalf("incr %d: %v", i, r)
		}
	}
	if r := storeCmd(t, "incr", file, "stats.runs", "--", "-10"); r.code != exitOK || r.stdout != "-7\n" {
		t.Fatalf("incr -10: %v", r)
	}
	if r := storeCmd(t, "delete", file, "server.host"); r.code != exitOK {
		t.Fatalf("delete: %v", r)
	}
	if r := storeCmd(t, "delete", file, "server.host"); r.code != exitOK {
		t.Fatalf("delete of an absent key: %v", r)
	}
	m := readJSON(t, file)
	if _, ok := m["server"].(map[string]any)["host"]; ok || m["stats"].(map[string]any)["runs"] != -7.0 {
		t.Fatalf("after delete and incr: %v", m)
	}
	if _, err := os.Stat(file + ".bak.1"); err != nil {
		t.Errorf("no backup of the previous version: %v", err)
	}
}

// Bad input is refused with a clear message and exit code 2, and the file
// (and its backup) stay exactly as they were.
func TestStoreBadInputLeavesFileUnchanged(t *testing.T) {
	file := filepath.Join(testdir.New(t), "doc.json")
	storeCmd(t, "set", file, "a", `"text"`)
	storeCmd(t, "set", file, "n", `1.5`)
	storeCmd(t, "set", file, "list", `[1]`)
	before, _ := os.ReadFile(file)
	bakBefore, _ := os.ReadFile(file + ".bak.1")
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"set", file, "b", "not json"}, "is not valid JSON"},
		{[]string{"set", file, "b", `{"unterminated": `}, "is not valid JSON"},
		{[]string{"set", file, "b", "\xff"}, "is not valid UTF-8"},
		{[]string{"set", file, "a.b", "1"}, "a is a string, not an object"},
		{[]string{"set", file, "list.x", "1"}, "list is an array, not an object"},
		{[]string{"incr", file, "n"}, "n is a number, not an integer"},
		{[]string{"incr", file, "a"}, "a is a string, not an integer"},
		{[]string{"delete", file, "a.b.c"}, "a is a string, not an object"},
		{[]string{"get", file, "a.b"}, "a is a string, not an object"},
	}
	for _, tc := range cases {
		r := storeCmd(t, tc.args...)
		if r.code != exitBadInput || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("store %q: want exit %d and %q, got %v", tc.args, exitBadInput, tc.msg, r)
		}
		if tc.args[0] != "get" && !strings.Contains(r.stderr, "unchanged") {
			t.Errorf("store %q does not say the file is unchanged: %s", tc.args, r.stderr)
		}
		after, _ := os.ReadFile(file)
		bakAfter, _ := os.ReadFile(file + ".bak.1")
		if !bytes.Equal(before, after) || !bytes.Equal(bakBefore, bakAfter) {
			t.Fatalf("store %q changed the file or its backup:\n%s", tc.args, after)
		}
	}
	for _, args := range [][]string{{"set", file, "a"}, {"frob", file}, {"get"}, {"set", file, "a..b", "1"}, {"incr", file, "n", "x"}} {
		if r := storeCmd(t, args...); r.code != exitUsage || !strings.Contains(r.stderr, "usage: durable store") {
			t.Errorf("store %q: want a usage error, got %v", args, r)
		}
	}
}

func TestStoreCorruptFile(t *testing.T) {
	dir := testdir.New(t)
	file := filepath.Join(dir, "doc.json")
	storeCmd(t, "set", file, "v", "1")
	storeCmd(t, "set", file, "v", "2")
	os.WriteFile(file, []byte(`{"v": 3, "torn`), 0o600)
	r := storeCmd(t, "get", file, "v")
	if r.code != exitOK || r.stdout != "1\n" || !strings.Contains(r.stderr, "warning") || !strings.Contains(r.stderr, "corrupt") {
		t.Fatalf("get of a torn file with a backup: %v", r)
	}
	if m, _ := filepath.Glob(file + ".corrupt.*"); len(m) != 1 {
		t.Fatalf("damaged file not kept: %v", m)
	}
	// No good backup: nothing is touched, exit 8.
	other := filepath.Join(dir, "nobak.json")
	os.WriteFile(other, []byte("\x00\x00\x00"), 0o600)
	for _, args := range [][]string{{"get", other}, {"set", other, "a", "1"}, {"incr", other, "a"}} {
		if r := storeCmd(t, args...); r.code != exitCorrupt || !strings.Contains(r.stderr, "corrupt") {
			t.Errorf("store %q on a corrupt file without backup: %v", args, r)
		}
		if b, _ := os.ReadFile(other); string(b) != "\x00\x00\x00" {
			t.Fatalf("the corrupt file was changed: %q", b)
		}
	}
}

// writeEditor writes an EDITOR script that replaces the file it is given
// with content (or leaves it alone when content is "").
func writeEditor(t *testing.T, content string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the test editor is a shell script")
	}
	dir := testdir.New(t)
	src := filepath.Join(dir, "content")
	os.WriteFile(src, []byte(content), 0o600)
	script := filepath.Join(dir, "editor.sh")
	body := "#!/bin/sh\necho \"$1\" >> " + filepath.Join(dir, "calls") + "\n"
	if content != "" {
		body += "cat " + src + " > \"$1\"\n"
	}
	os.WriteFile(script, []byte(body), 0o700)
	return script
}

func TestEdit(t *testing.T) {
	file := filepath.Join(testdir.New(t), "conf.json")
	storeCmd(t, "set", file, "a", "1")
	t.Setenv("VISUAL", "")

	t.Setenv("EDITOR", writeEditor(t, `{"a": 2, "b": [true]}`))
	if r := runVerb(t, editVerb(), nil, file); r.code != exitOK {
		t.Fatalf("edit: %v", r)
	}
	if m := readJSON(t, file); m["a"] != 2.0 {
		t.Fatalf("edit did not land: %v", m)
	}
	if b, _ := os.ReadFile(file + ".bak.1"); !strings.Contains(string(b), `"a": 1`) {
		t.Fatalf("backup: %s", b)
	}

	before, _ := os.ReadFile(file)
	t.Setenv("EDITOR", writeEditor(t, `{"a": 3,`))
	r := runVerb(t, editVerb(), nil, file)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "not valid JSON") || !strings.Contains(r.stderr, "line 1") {
		t.Fatalf("invalid edit: %v", r)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
		t.Fatalf("an invalid edit changed the file:\n%s", after)
	}

	t.Setenv("EDITOR", writeEditor(t, ""))
	if r := runVerb(t, editVerb(), nil, file); r.code != exitOK || !strings.Contains(r.stderr, "unchanged") {
		t.Fatalf("edit without changes: %v", r)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
		t.Fatal("an unchanged edit rewrote the file")
	}
	// A failing editor changes nothing either.
	t.Setenv("EDITOR", "false")
	if r := runVerb(t, editVerb(), nil, file); r.code == exitOK {
		t.Fatalf("failing editor: %v", r)
	}
}

// The editor runs under the document's lock: a concurrent store change
// waits for it, and both land.
func TestEditHoldsTheLock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in editor is a POSIX shell script")
	}
	file := filepath.Join(testdir.New(t), "conf.json")
	storeCmd(t, "set", file, "a", "1")
	dir := testdir.New(t)
	script := filepath.Join(dir, "slow.sh")
	os.WriteFile(script, []byte("#!/bin/sh\ntouch "+filepath.Join(dir, "started")+
		"\nsleep 0.5\nsed 's/\"a\": 1/\"a\": 5/' \"$1\" > \"$1.new\" && mv \"$1.new\" \"$1\"\n"), 0o700)
	t.Setenv("VISUAL", "")
	t.Setenv("EDITOR", script)
	done := make(chan result)
	go func() { done <- runVerb(t, editVerb(), nil, file) }()
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
			break
		}
		if i > 500 {
			t.Fatal("the editor never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := storeCmd(t, "incr", file, "n"); r.code != exitOK {
		t.Fatalf("incr during the edit: %v", r)
	}
	if r := <-done; r.code != exitOK {
		t.Fatalf("edit: %v", r)
	}
	if m := readJSON(t, file); m["a"] != 5.0 || m["n"] != 1.0 {
		t.Fatalf("lost an update: %v", m)
	}
}

// The binary, from several processes at once: no increment is lost.
func TestStoreIncrProcesses(t *testing.T) {
	if testing.Short() || testdir.UnderWine() {
		t.Skip("builds the CLI with the go command and starts processes")
	}
	bin := filepath.Join(testdir.New(t), "durable")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	procs, each := 4, 25
	if os.Getenv("CI") == "true" {
		procs, each = 6, 100
	}
	command := func(args ...string) *exec.Cmd { return exec.Command(bin, args...) }
	if out, _ := command("store", "--help").CombinedOutput(); !strings.Contains(string(out), "usage: durable store") {
		procs, each = 4, 25 // the test binary starts slowly (and more so with -race)
		// The verb is not in main.go's table yet: run the same code from
		// the test binary instead.
		t.Logf("the built binary has no store verb yet; using the test binary")
		command = func(args ...string) *exec.Cmd {
			cmd := testdir.Command("TestStoreCLIHelper", "DURABLE_STORE_CLI_ARGS="+strings.Join(args, "\x1f"))
			return cmd
		}
	}
	file := filepath.Join(testdir.New(t), "counter.json")
	start := time.Now()
	var wg sync.WaitGroup
	for range procs {
		wg.Go(func() {
			for range each {
				if out, err := command("store", "incr", file, "count").CombinedOutput(); err != nil {
					t.Errorf("incr: %v\n%s", err, out)
					return
				}
			}
		})
	}
	wg.Wait()
	out, err := command("store", "get", file, "count").Output()
	if err != nil || strings.TrimSpace(string(out)) != strconv.Itoa(procs*each) {
		t.Fatalf("count = %q (%v), want %d", out, err, procs*each)
	}
	t.Logf("%d processes x %d durable store incr in %v", procs, each, time.Since(start).Round(time.Millisecond))
}

func TestStoreCLIHelper(t *testing.T) {
	args := os.Getenv("DURABLE_STORE_CLI_ARGS")
	if args == "" {
		t.Skip("helper for TestStoreIncrProcesses")
	}
	a := strings.Split(args, "\x1f")
	c := &cli{ctx: context.Background(), stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, verb: storeVerb()}
	code := storeVerb().run(c, a[1:])
	os.Stdout.Sync()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "exit", code)
	}
	os.Exit(code)
}

// The same checks TestVerbHelp makes once the verbs are in the table.
func TestStoreVerbsHelp(t *testing.T) {
	for _, v := range []verb{storeVerb(), editVerb()} {
		r := runVerb(t, v, nil, "--help")
		if r.code != exitOK || r.stderr != "" {
			t.Errorf("durable %s --help: %v", v.name, r)
		}
		for _, want := range []string{"usage: durable " + v.name, "Example:\n  $ durable " + v.name, "Flags:", "--help"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("durable %s --help does not say %q:\n%s", v.name, want, r.stdout)
			}
		}
		r = runVerb(t, v, nil, "--no-such-flag")
		if r.code != exitUsage || !strings.Contains(r.stderr, "usage: durable "+v.name) || r.stdout != "" {
			t.Errorf("durable %s --no-such-flag: %v", v.name, r)
		}
	}
}
