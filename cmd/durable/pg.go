package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// PostgreSQL objects. The store, lock, edit and queue verbs accept a
// postgres:// or postgresql:// URL where they take a file or directory,
// with the object's name in the fragment:
//
//	durable store incr 'postgres:///app?host=/run/postgresql#settings' runs
//
// This module keeps to the standard library, so the PostgreSQL driver
// lives in the pg module, and so does the program that runs these verbs
// on a server: durable-pg. durable hands it the whole command line, with
// the standard streams, and exits with its code.

// Exit codes of a server, beside the file ones (exitcodes.go).
const (
	exitBadURL      = 20 // the postgres:// URL does not parse or names no object
	exitUnreachable = 21 // the server could not be reached
	exitAuth        = 22 // the server refused the credentials
	exitNotDurable  = 23 // the server acknowledges commits before they are flushed
)

// pgVerbs are the verbs durable-pg runs.
var pgVerbs = map[string]bool{"store": true, "edit": true, "lock": true, "queue": true}

// isPGURL reports whether arg is a PostgreSQL URL.
func isPGURL(arg string) bool {
	l := strings.ToLower(arg)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// delegatePG runs the verb in durable-pg when its object is a PostgreSQL
// URL (before a "--": what follows is lock's command), and reports
// whether it did.
func (c *cli) delegatePG(name string, args []string) (int, bool) {
	if !pgVerbs[name] {
		return 0, false
	}
	found := false
	for _, a := range args {
		if a == "--" {
			break
		}
		if isPGURL(a) {
			found = true
			break
		}
	}
	if !found {
		return 0, false
	}
	exe, err := findDurablePG()
	if err != nil {
		fmt.Fprintf(c.stderr, "durable: %s on PostgreSQL needs the durable-pg program, which carries the PostgreSQL driver: %v\n"+
			"Install it with: go install github.com/durable-go/durable/pg/cmd/durable-pg@latest\n", name, err)
		return exitFailure, true
	}
	cmd := exec.Command(exe, append([]string{name}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, c.stdout, c.stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return exitOK, true
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode(), true
	}
	fmt.Fprintf(c.stderr, "durable: running %s: %v\n", exe, err)
	return exitFailure, true
}

// findDurablePG looks for durable-pg beside this program, then on PATH.
func findDurablePG() (string, error) {
	name := "durable-pg"
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if filepath.Ext(self) == ".exe" {
			p += ".exe"
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return exec.LookPath(name)
}
