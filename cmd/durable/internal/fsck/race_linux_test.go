package fsck

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
	"golang.org/x/sys/unix"
)

// A second user who can write the checked directory swaps a name fsck has
// checked for a symbolic link to a file outside the tree (or a directory
// fsck walked for a link to a directory outside it), atomically and over
// and over, with renameat2(RENAME_EXCHANGE), while fsck --fix runs again
// and again. Whatever the interleaving, nothing outside the tree may change:
// no mode, no content, no file removed, none created.
func TestFixRacingSwapToOutside(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup plants the tree's file(s) and the victim(s) outside; it
		// returns the two names (in tree) to exchange and a function that
		// puts back whatever a successful fix repaired.
		setup func(t *testing.T, tree, outside string) (a, b string, reset func())
	}{
		{"chmod-secret", func(t *testing.T, tree, outside string) (string, string, func()) {
			write(t, filepath.Join(outside, "victim.json"), `{"access_token":"root's"}`, 0o644)
			write(t, filepath.Join(tree, "token.json"), `{"access_token":"x"}`, 0o644)
			symlink(t, filepath.Join(outside, "victim.json"), filepath.Join(tree, ".swap"))
			f := openRegular(t, filepath.Join(tree, "token.json"))
			return "token.json", ".swap", func() { f.Chmod(0o644) }
		}},
		{"remove-temp-and-chmod-in-swapped-dir", func(t *testing.T, tree, outside string) (string, string, func()) {
			const temp = ".x.json.abcdefghijkl.tmp"
			for _, d := range []string{filepath.Join(tree, "sub"), filepath.Join(outside, "sub")} {
				mkdir(t, d)
				write(t, filepath.Join(d, temp), "half", 0o600)
				old(t, filepath.Join(d, temp))
				write(t, filepath.Join(d, "token.json"), `{"access_token":"x"}`, 0o644)
			}
			symlink(t, filepath.Join(outside, "sub"), filepath.Join(tree, ".swap"))
			f := openRegular(t, filepath.Join(tree, "sub", "token.json"))
			d := openDirFd(t, filepath.Join(tree, "sub"))
			return "sub", ".swap", func() {
				f.Chmod(0o644)
				// Put the temp file back where the fix removed it.
				fd, err := unix.Openat(int(d.Fd()), temp, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
				if err == nil {
					unix.Close(fd)
					ts := []unix.Timespec{unix.NsecToTimespec(1e9), unix.NsecToTimespec(1e9)}
					unix.UtimesNanoAt(int(d.Fd()), temp, ts, 0)
				}
			}
		}},
		{"jsonl-repair", func(t *testing.T, tree, outside string) (string, string, func()) {
			const torn = `{"a":1}` + "\n" + `{"b":`
			write(t, filepath.Join(outside, "victim.jsonl"), torn, 0o644)
			write(t, filepath.Join(tree, "app.jsonl"), torn, 0o644)
			symlink(t, filepath.Join(outside, "victim.jsonl"), filepath.Join(tree, ".swap"))
			f := openRegular(t, filepath.Join(tree, "app.jsonl"))
			return "app.jsonl", ".swap", func() {
				// Tear it again where the fix cut it.
				if fi, err := f.Stat(); err == nil && fi.Size() != int64(len(torn)) {
					f.Truncate(0)
					f.WriteAt([]byte(torn), 0)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			tree, outside := filepath.Join(base, "tree"), filepath.Join(base, "outside")
			mkdir(t, tree)
			mkdir(t, outside)
			a, b, reset := tc.setup(t, tree, outside)
			before := outsideState(t, outside)

			var swaps atomic.Int64
			stop := testdir.Repeat(func() bool {
				if err := unix.Renameat2(unix.AT_FDCWD, filepath.Join(tree, a), unix.AT_FDCWD, filepath.Join(tree, b), unix.RENAME_EXCHANGE); err != nil {
					t.Errorf("renameat2: %v", err)
					return false
				}
				swaps.Add(1)
				return true
			})
			o := &Options{Fix: true, Now: later, Grace: time.Nanosecond, openFiles: func() *openFiles {
				return &openFiles{ok: true, open: map[fileID]bool{}, hidden: map[uint32]int{}}
			}}
			fixed := 0
			deadline := time.Now().Add(time.Second)
			passes := 0
			for ; time.Now().Before(deadline); passes++ {
				rep, err := Check(context.Background(), []string{tree}, o)
				if err != nil {
					continue // the top directory itself is never swapped; a listing may race
				}
				for _, f := range rep.Findings {
					if f.Fixed {
						fixed++
					}
				}
				reset()
				if after := outsideState(t, outside); !sameSnapshot(before, after) {
					stop()
					t.Fatalf("after %d passes and %d swaps, fsck --fix changed a file outside the tree:\nbefore %v\nafter  %v", passes, swaps.Load(), before, after)
				}
			}
			stop()
			t.Logf("%d passes, %d swaps, %d repairs of the tree's own file(s)", passes, swaps.Load(), fixed)
			if fixed == 0 {
				t.Errorf("no repair ever succeeded: the race was never run against a real repair")
			}
		})
	}
}

// state is what a test compares of a file outside the tree.
type state struct {
	mode  fs.FileMode
	size  int64
	mtime time.Time
	data  string
}

// outsideState records every entry below dir, without following links.
func outsideState(t *testing.T, dir string) map[string]state {
	t.Helper()
	m := map[string]state{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		s := state{mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime()}
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			s.data = string(b)
		}
		m[p] = s
		return nil
	})
	return m
}

func sameSnapshot(a, b map[string]state) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.mode != w.mode || v.size != w.size || !v.mtime.Equal(w.mtime) || !bytes.Equal([]byte(v.data), []byte(w.data)) {
			return false
		}
	}
	return true
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, d string) {
	t.Helper()
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
}

// old dates a file an hour back, so that it counts as an orphaned temp.
func old(t *testing.T, p string) {
	t.Helper()
	at := time.Unix(1, 0)
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
}

// openRegular keeps the tree's own file open, to restore it through its
// descriptor whatever name it has at the moment.
func openRegular(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func openDirFd(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// A hard link planted in the tree to a file outside it is the outside
// file: a fix in place (a mode, a cut) would change it. fsck reports it
// and leaves it alone.
func TestFixLeavesHardLinkedFilesAlone(t *testing.T) {
	base := t.TempDir()
	tree, outside := filepath.Join(base, "tree"), filepath.Join(base, "outside")
	mkdir(t, tree)
	mkdir(t, outside)
	write(t, filepath.Join(outside, "victim.json"), `{"access_token":"root's"}`, 0o644)
	write(t, filepath.Join(outside, "victim.jsonl"), `{"a":1}`+"\n"+`{"b":`, 0o644)
	for _, n := range []string{"victim.json", "victim.jsonl"} {
		if err := os.Link(filepath.Join(outside, n), filepath.Join(tree, n)); err != nil {
			t.Fatal(err)
		}
	}
	before := outsideState(t, outside)
	rep, err := Check(context.Background(), []string{tree}, &Options{Fix: true, Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if after := outsideState(t, outside); !sameSnapshot(before, after) {
		t.Fatalf("fsck --fix changed a file outside the tree through a hard link:\nbefore %v\nafter  %v", before, after)
	}
	refused := 0
	for _, f := range rep.Findings {
		if f.Fixable && !f.Fixed && bytes.Contains([]byte(f.FixError), []byte("hard links")) {
			refused++
		}
	}
	if refused != 2 {
		t.Fatalf("want the secret's chmod and the JSON Lines cut refused for their hard links; findings: %+v", rep.Findings)
	}
}
