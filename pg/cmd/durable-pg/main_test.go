package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{ctx: context.Background(), stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	code := c.main(args)
	return result{code, out.String(), errb.String()}
}

// server returns the test server's URL and a schema of the test's own.
func server(t *testing.T) (string, string) {
	u := os.Getenv("DURABLE_TEST_PG")
	if u == "" {
		t.Skip("DURABLE_TEST_PG is not set: see the pg package's tests for how to start a server (scripts/test starts one)")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "cli_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, u); err == nil {
			c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			c.Close(ctx)
		}
	})
	return u, schema
}

func TestStoreVerbs(t *testing.T) {
	u, schema := server(t)
	obj := u + "#settings"
	s := "--schema=" + schema
	if r := run(t, "", "store", s, "incr", obj, "stats.runs"); r.code != 0 || r.stdout != "1\n" {
		t.Fatalf("incr: %+v", r)
	}
	if r := run(t, "", "store", s, "incr", obj, "stats.runs", "41"); r.code != 0 || r.stdout != "42\n" {
		t.Fatalf("incr 41: %+v", r)
	}
	if r := run(t, "", "store", s, "set", obj, "name", `"demo"`); r.code != 0 {
		t.Fatalf("set: %+v", r)
	}
	if r := run(t, "", "store", s, "get", "--raw", obj, "name"); r.code != 0 || r.stdout != "demo\n" {
		t.Fatalf("get --raw: %+v", r)
	}
	// Members keep the order they were made in, as in durable store.
	if r := run(t, "", "store", s, "get", obj); r.code != 0 || strings.Index(r.stdout, `"stats"`) > strings.Index(r.stdout, `"name"`) {
		t.Fatalf("get: %+v, want stats before name, in the order they were set", r)
	}
	if r := run(t, "", "store", s, "set", obj, "name", "demo"); r.code != exitUsage {
		t.Fatalf("set of a value that is not JSON: %+v", r)
	}
	if r := run(t, "", "store", s, "incr", obj, "name"); r.code != exitUsage {
		t.Fatalf("incr of a string: %+v", r)
	}
	if r := run(t, "", "store", s, "delete", obj, "name"); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	if r := run(t, "", "store", s, "get", obj); r.code != 0 || !strings.Contains(r.stdout, `"runs": 42`) || strings.Contains(r.stdout, "demo") {
		t.Fatalf("get: %+v", r)
	}
}

func TestQueueVerbs(t *testing.T) {
	u, schema := server(t)
	obj := u + "#jobs"
	s := "--schema=" + schema
	if r := run(t, "one\ntwo\n", "queue", "push", s, obj); r.code != 0 || len(strings.Fields(r.stdout)) != 2 {
		t.Fatalf("push: %+v", r)
	}
	r := run(t, "", "queue", "pop", s, "--lease", "1m", obj)
	receipt, payload, _ := strings.Cut(strings.TrimSpace(r.stdout), "\t")
	if r.code != 0 || payload != "one" || !strings.Contains(receipt, ":") {
		t.Fatalf("pop: %+v", r)
	}
	id, _, _ := strings.Cut(receipt, ":")
	if r := run(t, "", "queue", "ack", s, obj, id); r.code != exitUsage {
		t.Fatalf("ack of a bare ID: %+v", r)
	}
	if r := run(t, "", "queue", "extend", s, "--lease", "2m", obj, receipt); r.code != 0 {
		t.Fatalf("extend: %+v", r)
	}
	if r := run(t, "", "queue", "ack", s, obj, receipt); r.code != 0 {
		t.Fatalf("ack: %+v", r)
	}
	if r := run(t, "", "queue", "ack", s, obj, receipt); r.code != exitFailure {
		t.Fatalf("second ack: %+v", r)
	}
	r = run(t, "", "queue", "pop", s, "--json", obj)
	if r.code != 0 || !strings.Contains(r.stdout, `"payload":"two"`) {
		t.Fatalf("pop --json: %+v", r)
	}
	if r := run(t, "", "queue", "pop", s, "--no-wait", obj); r.code != exitFailure {
		t.Fatalf("pop --no-wait of an empty queue: %+v", r)
	}
	if r := run(t, "", "queue", "pop", s, "--timeout", "300ms", obj); r.code != exitTimeout {
		t.Fatalf("pop that times out: %+v", r)
	}
	if r := run(t, "", "queue", "ls", s, "--json", obj); r.code != 0 || !strings.Contains(r.stdout, `"leased": 1`) {
		t.Fatalf("ls: %+v", r)
	}
}

func TestLockVerb(t *testing.T) {
	u, schema := server(t)
	obj := u + "#nightly"
	s := "--schema=" + schema
	if r := run(t, "", "lock", s, obj, "--", "sh", "-c", "exit 4"); r.code != 4 {
		t.Fatalf("lock runs the command and exits with its code: %+v", r)
	}
	// Held by another holder: the wait times out with exit 6.
	done := make(chan result)
	go func() { done <- run(t, "", "lock", s, obj, "--", "sleep", "5") }()
	time.Sleep(1500 * time.Millisecond)
	if r := run(t, "", "lock", s, "--timeout", "2s", obj, "--", "true"); r.code != exitLocked {
		t.Fatalf("lock held elsewhere: %+v", r)
	}
	if r := <-done; r.code != 0 {
		t.Fatalf("the first holder: %+v", r)
	}
}

func TestConnectionErrorsHaveTheirCodes(t *testing.T) {
	u, _ := server(t)
	p, _ := url.Parse(u)
	q := p.Query()
	q.Set("user", "no_such_role_cli")
	p.RawQuery = q.Encode()
	for _, tc := range []struct {
		arg  string
		code int
	}{
		{u, exitBadURL}, // no fragment
		{"postgres://%zz#a", exitBadURL},
		{"postgres:///x?host=/nonexistent-h24&connect_timeout=2#a", exitUnreachable},
		{p.String() + "#a", exitAuth},
	} {
		if r := run(t, "", "store", "get", tc.arg); r.code != tc.code {
			t.Errorf("store get %s: %+v, want exit %d", tc.arg, r, tc.code)
		}
	}
}

func TestEditVerb(t *testing.T) {
	u, schema := server(t)
	obj := u + "#cfg"
	s := "--schema=" + schema
	if r := run(t, "", "store", s, "set", obj, "a", "1"); r.code != 0 {
		t.Fatal(r)
	}
	t.Setenv("VISUAL", `sed -i 's/1/2/'`)
	if r := run(t, "", "edit", s, obj); r.code != 0 {
		t.Fatalf("edit: %+v", r)
	}
	if r := run(t, "", "store", s, "get", obj, "a"); r.stdout != "2\n" {
		t.Fatalf("after edit: %+v", r)
	}
	t.Setenv("VISUAL", `sed -i 's/2/{/'`)
	if r := run(t, "", "edit", s, obj); r.code != exitUsage {
		t.Fatalf("edit to invalid JSON: %+v", r)
	}
	// Someone changes the document while the editor is open.
	t.Setenv("VISUAL", `durable_pg_test_concurrent() { sed -i 's/2/3/' "$1"; "$DURABLE_PG_SELF" store `+s+` set '`+obj+`' a 9 >/dev/null; }; durable_pg_test_concurrent`)
	t.Setenv("DURABLE_PG_SELF", selfBinary(t))
	if r := run(t, "", "edit", s, obj); r.code != exitConflict {
		t.Fatalf("edit over a concurrent change: %+v", r)
	}
	if r := run(t, "", "store", s, "get", obj, "a"); r.stdout != "9\n" {
		t.Fatalf("the concurrent change was overwritten: %+v", r)
	}
}

// TestMain lets the test binary run as durable-pg for the editor of
// TestEditVerb.
func TestMain(m *testing.M) {
	if os.Getenv("DURABLE_PG_AS_MAIN") != "" {
		c := &cli{ctx: context.Background(), stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
		os.Exit(c.main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func selfBinary(t *testing.T) string {
	t.Setenv("DURABLE_PG_AS_MAIN", "1")
	return os.Args[0]
}
