//go:build windows

package vfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/durable-go/durable/internal/testdir"
)

// Wine neither limits paths to MAX_PATH, nor refuses to rename over a
// read-only file, nor renames a file whose name is given in another case,
// so the tests of those behaviours in package durable pass there with or
// without this code. These test the pieces themselves.

func TestWinPath(t *testing.T) {
	long := strings.Repeat(`\abcdefghij`, 30) // 330 characters
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{`C:\short\path.json`, `C:\short\path.json`},
		{`C:` + long, `\\?\C:` + long},
		{`C:` + strings.ReplaceAll(long, `\`, `/`), `\\?\C:` + long},
		{`C:` + long + `\..\x`, `\\?\C:` + long[:len(long)-len(`\abcdefghij`)] + `\x`},
		{`\\server\share` + long, `\\?\UNC\server\share` + long},
		{`\\?\C:` + long, `\\?\C:` + long},
		{`\\.\pipe` + long, `\\.\pipe` + long},
		{long[1:], `\\?\` + filepath.Join(cwd, long[1:])},
	} {
		if got := winPath(tc.in); got != tc.want {
			t.Errorf("winPath(%.40q...) = %.60q..., want %.60q...", tc.in, got, tc.want)
		}
	}
}

func TestOnDiskName(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "config.json")
	if err := os.WriteFile(name, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{filepath.Join(dir, "Config.JSON"), name},
		{name, name},
		{filepath.Join(dir, "other.json"), filepath.Join(dir, "other.json")},
	} {
		if got := onDiskName(tc.in); got != tc.want {
			t.Errorf("onDiskName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReplaceReadOnly(t *testing.T) {
	dir := testdir.New(t)
	from, to := filepath.Join(dir, "tmp"), filepath.Join(dir, "target")
	for name, content := range map[string]string{from: "new", to: "old"} {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, _ := windows.UTF16PtrFromString(from)
	p, _ := windows.UTF16PtrFromString(to)
	if done, err := replaceReadOnly(f, p); done || err != nil {
		t.Fatalf("a writable target: done %v, err %v; want nothing done", done, err)
	}
	if err := os.Chmod(to, 0o444); err != nil {
		t.Fatal(err)
	}
	if done, err := replaceReadOnly(f, p); !done || err != nil {
		t.Fatalf("a read-only target: done %v, err %v", done, err)
	}
	if b, err := os.ReadFile(to); err != nil || string(b) != "new" {
		t.Fatalf("target holds %q, %v", b, err)
	}
	// A rename that still fails (the source is gone now) puts the
	// attribute back.
	if err := os.Chmod(to, 0o444); err != nil {
		t.Fatal(err)
	}
	if done, err := replaceReadOnly(f, p); !done || err == nil {
		t.Fatalf("renaming a missing file: done %v, err %v", done, err)
	}
	if fi, err := os.Stat(to); err != nil || fi.Mode().Perm()&0o200 != 0 {
		t.Fatalf("target mode %v, %v: the read-only attribute was not put back", fi.Mode(), err)
	}
	os.Chmod(to, 0o644)
}
