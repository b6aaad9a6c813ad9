//go:build windows

package vfs

import (
	"errors"
	"io/fs"
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

// A read-only target is replaced without its attribute ever being
// cleared: the new file is read-only because the temp file was.
func TestRenameOverReadOnly(t *testing.T) {
	dir := testdir.New(t)
	from, to := filepath.Join(dir, "tmp"), filepath.Join(dir, "target")
	if err := os.WriteFile(to, []byte("old"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(from, []byte("new"), 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(to, 0o644); os.Chmod(from, 0o644) })
	if err := rename(from, to); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(to); err != nil || string(b) != "new" {
		t.Fatalf("target holds %q, %v", b, err)
	}
	if fi, err := os.Stat(to); err != nil || fi.Mode().Perm()&0o200 != 0 {
		t.Fatalf("target mode %v, %v: want read-only", fi.Mode(), err)
	}
	if _, err := os.Lstat(from); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temp still there: %v", err)
	}
}

// The 8.3 short name of an entry is another spelling of it: onDiskName
// maps it to the long name, so that a replace through it keeps the name.
func TestOnDiskNameShort(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "configuration.json")
	if err := os.WriteFile(name, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	short := shortName(t, name)
	if got := onDiskName(short); got != name {
		t.Fatalf("onDiskName(%q) = %q, want %q", short, got, name)
	}
}

// shortName returns name's 8.3 spelling, skipping the test where the
// volume keeps none.
func shortName(t *testing.T, name string) string {
	t.Helper()
	p, _ := windows.UTF16PtrFromString(name)
	buf := make([]uint16, 512)
	n, err := windows.GetShortPathName(p, &buf[0], uint32(len(buf)))
	if err != nil {
		t.Fatal(err)
	}
	short := windows.UTF16ToString(buf[:n])
	if strings.EqualFold(filepath.Base(short), filepath.Base(name)) {
		t.Skipf("no 8.3 name for %s on this volume", name)
	}
	return filepath.Join(filepath.Dir(name), filepath.Base(short))
}
