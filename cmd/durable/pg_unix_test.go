//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A verb whose object is a postgres:// URL runs in durable-pg, with the
// whole command line, the streams, and its exit code.
func TestPostgresURLsRunInDurablePG(t *testing.T) {
	dir := t.TempDir()
	fake := "#!/bin/sh\necho \"args: $*\"\ncat\nexit 21\n"
	if err := os.WriteFile(filepath.Join(dir, "durable-pg"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, args := range [][]string{
		{"store", "incr", "postgres:///app#settings", "runs"},
		{"queue", "push", "--json", "POSTGRESQL://db/app#jobs"},
		{"lock", "postgres:///app#nightly", "--", "true"},
	} {
		r := runCLI(t, strings.NewReader("from stdin\n"), args...)
		if r.code != 21 || !strings.Contains(r.stdout, "args: "+strings.Join(args, " ")) || !strings.Contains(r.stdout, "from stdin") {
			t.Errorf("%v:\n%v", args, r)
		}
	}
	// A URL after lock's "--" is the command's, not the lock's object.
	file := filepath.Join(dir, "state")
	r := runCLI(t, nil, "lock", file, "--", "echo", "postgres:///x#y")
	if r.code != 0 || strings.Contains(r.stdout, "args:") {
		t.Errorf("lock FILE -- cmd postgres://...: went to durable-pg:\n%v", r)
	}
}

func TestPostgresURLWithoutDurablePGSaysHowToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	r := runCLI(t, nil, "store", "get", "postgres:///app#settings")
	if r.code != exitFailure || !strings.Contains(r.stderr, "go install github.com/durable-go/durable/pg/cmd/durable-pg") {
		t.Fatalf("without durable-pg:\n%v", r)
	}
}
