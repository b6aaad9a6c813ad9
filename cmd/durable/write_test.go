package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
)

func TestWrite(t *testing.T) {
	dir := testdir.New(t)
	file := filepath.Join(dir, "sub", "token.json")
	r := runCLI(t, strings.NewReader(`{"token":"abc"}`), "write", file)
	if r.code != exitOK || r.stdout != "" || r.stderr != "" {
		t.Fatalf("write: %v", r)
	}
	if got := testdir.ReadString(t, file); got != `{"token":"abc"}` {
		t.Errorf("file holds %q", got)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("new file has mode %v, want 0600", fi.Mode().Perm())
		}
	}
	// Replacing, with flags after the file name, keeping a backup.
	r = runCLI(t, strings.NewReader("second"), "write", file, "--backup")
	if r.code != exitOK {
		t.Fatalf("write --backup: %v", r)
	}
	if got := testdir.ReadString(t, file); got != "second" {
		t.Errorf("file holds %q after the replace", got)
	}
	if got := testdir.ReadString(t, file+".bak.1"); got != `{"token":"abc"}` {
		t.Errorf("backup holds %q", got)
	}
	// Empty stdin is refused (a failed producer leaves it), unless allowed.
	if r := runCLI(t, strings.NewReader(""), "write", "--no-sync", file); r.code != exitUsage || testdir.ReadString(t, file) != "second" {
		t.Errorf("write of empty stdin: %v", r)
	}
	if r := runCLI(t, strings.NewReader(""), "write", "--allow-empty", "--no-sync", file); r.code != exitOK || testdir.ReadString(t, file) != "" {
		t.Errorf("write of empty stdin: %v", r)
	}
}

func TestWriteMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permissions")
	}
	file := filepath.Join(testdir.New(t), "f")
	if r := runCLI(t, strings.NewReader("a"), "write", "--mode", "0640", file); r.code != exitOK {
		t.Fatalf("write --mode 0640: %v", r)
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	// Without --mode an existing file keeps its mode; with it, it gets it.
	runCLI(t, strings.NewReader("b"), "write", file)
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v after a write without --mode, want 0644 kept", fi.Mode().Perm())
	}
	runCLI(t, strings.NewReader("c"), "write", "--mode=600", file)
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after --mode=600", fi.Mode().Perm())
	}
}

func TestWriteJSON(t *testing.T) {
	file := filepath.Join(testdir.New(t), "f")
	r := runCLI(t, strings.NewReader("hello"), "write", "--json", file)
	var out struct {
		File       string
		Bytes      int
		Durability string
	}
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &out) != nil {
		t.Fatalf("write --json: %v", r)
	}
	if out.File != file || out.Bytes != 5 || out.Durability != "full" {
		t.Errorf("write --json printed %+v", out)
	}
}

func TestWriteUsageErrors(t *testing.T) {
	dir := testdir.New(t)
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"write"},
		{"write", file, file},
		{"write", "--mode", "0999", file},
		{"write", "--mode", "rw", file},
		{"write", "--mode", "01777", file},
		{"write", "--bogus", file},
		{"write", "--mode"},
	} {
		r := runCLI(t, strings.NewReader("new"), args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "usage: durable write [flags] FILE") {
			t.Errorf("durable %v: %v", args, r)
		}
	}
	if got := testdir.ReadString(t, file); got != "old" {
		t.Errorf("a usage error changed the file to %q", got)
	}
	// After "--" everything is a file name, even one that looks like a flag.
	r := runCLI(t, strings.NewReader("dash"), "write", "--", filepath.Join(dir, "--json"))
	if r.code != exitOK || testdir.ReadString(t, filepath.Join(dir, "--json")) != "dash" {
		t.Errorf("write -- --json: %v", r)
	}
}

func TestWriteNoClobber(t *testing.T) {
	file := filepath.Join(testdir.New(t), "f")
	if r := runCLI(t, strings.NewReader("first"), "write", "--no-clobber", file); r.code != exitOK {
		t.Fatalf("write --no-clobber of a new file: %v", r)
	}
	r := runCLI(t, strings.NewReader("second"), "write", "--no-clobber", file)
	if r.code != exitExists || !strings.HasPrefix(r.stderr, "durable: ") {
		t.Errorf("write --no-clobber of an existing file: %v", r)
	}
	r = runCLI(t, strings.NewReader("second"), "write", "--no-clobber", "--json", file)
	var out struct {
		Error string
		Code  int
	}
	if r.code != exitExists || json.Unmarshal([]byte(r.stdout), &out) != nil || out.Code != exitExists || out.Error == "" {
		t.Errorf("write --no-clobber --json of an existing file: %v", r)
	}
	if got := testdir.ReadString(t, file); got != "first" {
		t.Errorf("--no-clobber replaced the file with %q", got)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("pipe broke") }

func TestWriteStdinFails(t *testing.T) {
	file := filepath.Join(testdir.New(t), "f")
	if err := os.WriteFile(file, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, io.MultiReader(strings.NewReader("partial"), failingReader{}), "write", file)
	if r.code != exitFailure || !strings.Contains(r.stderr, "pipe broke") {
		t.Errorf("write with a failing stdin: %v", r)
	}
	if got := testdir.ReadString(t, file); got != "old" {
		t.Errorf("a failed read changed the file to %q", got)
	}
}

func TestWritePermissionDenied(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permissions")
	}
	dir := filepath.Join(testdir.New(t), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// Root ignores permissions, but not an immutable directory.
		chattr, err := exec.LookPath("chattr")
		if err != nil || exec.Command(chattr, "+i", dir).Run() != nil {
			t.Skip("root ignores permissions, and chattr +i is not available here")
		}
		t.Cleanup(func() { exec.Command(chattr, "-i", dir).Run() })
	}
	r := runCLI(t, strings.NewReader("x"), "write", filepath.Join(dir, "f"))
	if r.code != exitPermission || !strings.HasPrefix(r.stderr, "durable: ") {
		t.Errorf("write into a read-only directory: %v", r)
	}
}

func TestExitCode(t *testing.T) {
	wrap := func(err error) error { return &fs.PathError{Op: "replace", Path: "f", Err: err} }
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errors.New("boom"), exitFailure},
		{wrap(fs.ErrExist), exitExists},
		{wrap(syscall.EEXIST), exitExists},
		{wrap(syscall.EACCES), exitPermission},
		{wrap(fs.ErrPermission), exitPermission},
		{wrap(syscall.ENOSPC), exitNoSpace},
		{wrap(durable.ErrLocked), exitLocked},
		{wrap(context.DeadlineExceeded), exitTimeout},
		{wrap(os.ErrDeadlineExceeded), exitTimeout},
		{wrap(durable.ErrCorrupt), exitCorrupt},
		{wrap(durable.ErrTampered), exitTampered},
		{wrap(durable.ErrConflict), exitConflict},
		// A lock wait that timed out is reported as the lock it waited for.
		{errors.Join(durable.ErrLocked, context.DeadlineExceeded), exitLocked},
		{wrap(fs.ErrNotExist), exitNotFound},
		{notFoundf("no key a"), exitNotFound},
		{withCode(exitCheckFailed, errors.New("refused")), exitCheckFailed},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	// Every code has a distinct number and a line in the help.
	seen := map[int]bool{}
	for _, e := range exitCodeTable() {
		if seen[e.code] {
			t.Errorf("exit code %d listed twice", e.code)
		}
		seen[e.code] = true
	}
	if len(seen) != 22 {
		t.Errorf("%d exit codes documented, want 22", len(seen))
	}
}
