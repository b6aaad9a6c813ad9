//go:build unix

package durable_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
)

func TestWriteFileCreatesPrivateParents(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "a", "b", "token.json")
	if err := durable.WriteFile(name, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(dir, "a"), filepath.Join(dir, "a", "b")} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s mode = %v, want 0700 for a 0600 file", d, fi.Mode().Perm())
		}
	}
	public := filepath.Join(dir, "pub", "x.json")
	if err := durable.WriteFile(public, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Dir(public)); fi.Mode().Perm()&0o755 != 0o755&^currentUmask() {
		t.Errorf("dir for a 0644 file has mode %v", fi.Mode().Perm())
	}
}

func currentUmask() fs.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return fs.FileMode(m)
}

func TestModesUnderUmask(t *testing.T) {
	for _, umask := range []int{0o022, 0o077} {
		t.Run(fmt.Sprintf("umask%03o", umask), func(t *testing.T) {
			old := syscall.Umask(umask)
			defer syscall.Umask(old)
			dir := testdir.New(t)

			// A new file gets perm less the umask, exactly like os.WriteFile.
			name := filepath.Join(dir, "new")
			if err := durable.WriteFile(name, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if got, want := mode(t, name), fs.FileMode(0o644&^umask); got != want {
				t.Errorf("new file mode = %v, want %v", got, want)
			}

			// An existing file keeps its mode, even a wider one than the
			// umask would give, and even when perm says otherwise.
			kept := filepath.Join(dir, "kept")
			os.WriteFile(kept, []byte("old"), 0o600)
			os.Chmod(kept, 0o664)
			if err := durable.WriteFile(kept, []byte("new"), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := mode(t, kept); got != 0o664 {
				t.Errorf("existing mode = %v, want 0664 kept", got)
			}

			// ForcePerm applies perm, still less the umask: never wider
			// than the caller asked for.
			if err := durable.WriteFile(kept, []byte("newer"), 0o666, durable.ForcePerm()); err != nil {
				t.Fatal(err)
			}
			if got, want := mode(t, kept), fs.FileMode(0o666&^umask); got != want {
				t.Errorf("ForcePerm mode = %v, want %v", got, want)
			}
		})
	}
}

func mode(t *testing.T, name string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// Root keeps a user's file the user's, with its mode. A chown clears the
// setuid and setgid bits, so the mode must be set after it.
func TestRootKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root on Unix to create a file owned by someone else")
	}
	dir := testdir.New(t)
	const bits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid
	for i, want := range []fs.FileMode{0o640, 0o750 | fs.ModeSetuid | fs.ModeSetgid} {
		name := filepath.Join(dir, fmt.Sprint("user", i))
		os.WriteFile(name, []byte("old"), 0o600)
		if err := os.Chown(name, 4242, 4343); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(name, want); err != nil {
			t.Fatal(err)
		}
		if err := durable.WriteFile(name, []byte("new"), 0o600); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(name)
		st := fi.Sys().(*syscall.Stat_t)
		if got := fi.Mode() & bits; st.Uid != 4242 || st.Gid != 4343 || got != want {
			t.Errorf("owner %d:%d mode %v, want 4242:4343 %v", st.Uid, st.Gid, got, want)
		}
	}
}

// SkipUnchanged with ForcePerm skips only when the mode is right too.
func TestSkipUnchangedForcePerm(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "f")
	if err := os.WriteFile(name, []byte("same"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := []durable.Option{durable.SkipUnchanged(), durable.ForcePerm()}
	if err := durable.WriteFile(name, []byte("same"), 0o640, opts...); err != nil {
		t.Fatal(err)
	}
	if got, want := mode(t, name), fs.FileMode(0o640)&^currentUmask(); got != want {
		t.Fatalf("mode %v, want %v", got, want)
	}
	before, _ := os.Stat(name)
	if err := durable.WriteFile(name, []byte("same"), 0o640, opts...); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(name)
	if !os.SameFile(before, after) {
		t.Error("replaced although content and mode were unchanged")
	}
}
