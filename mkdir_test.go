package durable_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/vfs"
)

// A directory on the way to a new file that exists but is not durable (another
// writer just made it, a process was killed between its mkdir and the parent
// fsync, or that fsync failed) must be made durable before the new file is
// acknowledged: finding it proves nothing.

type foundDirCase struct {
	name   string
	setup  func(t *testing.T, m *vfs.MemFS) // leaves the path to target unsynced
	target string
	write  func(fsys vfs.FS, name string, data []byte) error
}

func writeFileOp(fsys vfs.FS, name string, data []byte) error {
	return durable.WriteFile(name, data, 0o600, durable.WithFS(fsys))
}

func foundDirCases() []foundDirCase {
	unsynced := func(dirs ...string) func(*testing.T, *vfs.MemFS) {
		return func(t *testing.T, m *vfs.MemFS) {
			for _, d := range dirs {
				if err := m.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return []foundDirCase{
		{"one level", unsynced("/d"), "/d/f", writeFileOp},
		{"three levels", unsynced("/a", "/a/b", "/a/b/c"), "/a/b/c/f", writeFileOp},
		{"below a durable one", unsynced("/home/u/new"), "/home/u/new/f", writeFileOp},
		{"through a link", func(t *testing.T, m *vfs.MemFS) {
			unsynced("/real", "/real/sub")(t, m)
			if err := m.Symlink("/real", "/l"); err != nil {
				t.Fatal(err)
			}
		}, "/l/sub/f", writeFileOp},
		{"made again after this process saw it durable", func(t *testing.T, m *vfs.MemFS) {
			// The process remembers /d as durable; /d is then removed
			// and made again, unsynced: the memory must not be trusted.
			if err := durable.WriteFile("/d/old", []byte("x"), 0o600, durable.WithFS(m)); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"/d/old", "/d"} {
				if err := m.Remove(name); err != nil {
					t.Fatal(err)
				}
			}
			m.SyncAll()
			unsynced("/d")(t, m)
		}, "/d/f", writeFileOp},
		{"Create", unsynced("/d", "/d/e"), "/d/e/f", func(fsys vfs.FS, name string, data []byte) error {
			p, err := durable.Create(name, 0o600, durable.WithFS(fsys))
			if err != nil {
				return err
			}
			defer p.Cleanup()
			if _, err := p.Write(data); err != nil {
				return err
			}
			return p.Commit()
		}},
		{"Update", unsynced("/d", "/d/e"), "/d/e/f", func(fsys vfs.FS, name string, data []byte) error {
			return durable.Update(name, func([]byte) ([]byte, error) { return data, nil }, durable.WithFS(fsys))
		}},
		{"Backup", unsynced("/d"), "/d/f", func(fsys vfs.FS, name string, data []byte) error {
			return durable.WriteFile(name, data, 0o600, durable.WithFS(fsys), durable.Backup())
		}},
	}
}

func TestCrashFoundDirectory(t *testing.T) {
	for _, tc := range foundDirCases() {
		t.Run(tc.name, func(t *testing.T) {
			m := memWith(map[string]string{"/home/u/.profile": "x"})
			tc.setup(t, m)
			if c := content(t, m.Crash(0), tc.target); c != "<absent>" {
				t.Fatalf("setup: %s is %q after a crash", tc.target, c)
			}
			// A new file lost after its write returned: its directory was
			// found, not made durable.
			checkReplace(t, m, tc.target, absent, v1, func(fsys vfs.FS) error {
				return tc.write(fsys, tc.target, []byte(v1))
			})
		})
	}
}

// TestFoundDirectoryOfParkedWriter is the race the issue reports: writer A
// has made /d and not yet fsynced / when writer B, finding /d, writes /d/b.
// B's acknowledgement must not rest on A's fsync.
func TestFoundDirectoryOfParkedWriter(t *testing.T) {
	for _, opts := range [][]durable.Option{nil, {durable.Backup()}, {durable.SkipUnchanged()}} {
		m := vfs.NewMem()
		parked, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		m.SetHook(func(op vfs.Op, name string) {
			// ToSlash: on Windows the mkdir is of \d, the path cleaned.
			if op == vfs.OpMkdir && filepath.ToSlash(name) == "/d" {
				once.Do(func() {
					close(parked)
					<-release
				})
			}
		})
		aDone := make(chan error, 1)
		go func() {
			aDone <- durable.WriteFile("/d/a", []byte("a"), 0o600, append(opts, durable.WithFS(m))...)
		}()
		<-parked
		if err := durable.WriteFile("/d/b", []byte(v1), 0o600, append(opts, durable.WithFS(m))...); err != nil {
			t.Fatal(err)
		}
		for _, s := range statesNow(m, 0, "B returned") {
			if c := content(t, s.fs, "/d/b"); c != v1 {
				t.Errorf("B was acknowledged while A was parked after its mkdir; %v, %v profile, leaves /d/b %.30q", s.state, s.fs.Model().Dirs, c)
			}
		}
		close(release)
		if err := <-aDone; err != nil {
			t.Fatal(err)
		}
	}
}

// After the fsync of the new directory's parent failed, a retry finds the
// directory: it must fsync the parent again, not trust what it found.
func TestFoundDirectoryAfterFailedSync(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup []string
		n     int // which SyncDir fails
	}{
		{"made by the failed call", nil, 1},
		{"found by the failed call", []string{"/d"}, 1},
		{"deeper", []string{"/d"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := vfs.NewMem()
			for _, d := range tc.setup {
				if err := m.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpSyncDir, N: tc.n, Err: syscall.EIO})
			err := durable.WriteFile("/d/e/f", []byte(v1), 0o600, durable.WithFS(inj))
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("first write: err = %v, want EIO", err)
			}
			if err := durable.WriteFile("/d/e/f", []byte(v1), 0o600, durable.WithFS(inj)); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if c := content(t, m.Crash(0), "/d/e/f"); c != v1 {
				t.Fatalf("the retry was acknowledged, but after a crash /d/e/f is %.30q", c)
			}
		})
	}
}

// Every call of a write into found directories fails in turn: the error
// surfaces, nothing is published, no temp file is left.
func TestFaultFoundDirectory(t *testing.T) {
	kinds := []vfs.Op{vfs.OpOpen, vfs.OpWrite, vfs.OpSync, vfs.OpClose, vfs.OpStat, vfs.OpReadlink,
		vfs.OpRename, vfs.OpMkdir, vfs.OpSyncDir}
	checked := 0
	for _, tc := range foundDirCases() {
		t.Run(tc.name, func(t *testing.T) {
			fresh := func() *vfs.MemFS {
				m := memWith(map[string]string{"/home/u/.profile": "x"})
				tc.setup(t, m)
				return m
			}
			sc := faultScenario{name: tc.name, target: tc.target, old: "<absent>", new: v1}
			for _, kind := range kinds {
				probe := vfs.Inject(fresh(), vfs.Fault{Ops: kind})
				if err := tc.write(probe, tc.target, []byte(v1)); err != nil {
					t.Fatalf("without faults: %v", err)
				}
				for n := 1; n <= probe.Count(); n++ {
					for _, e := range []error{syscall.EIO, syscall.ENOSPC} {
						m := fresh()
						inj := vfs.Inject(m, vfs.Fault{Ops: kind, N: n, Err: e})
						err := tc.write(inj, tc.target, []byte(v1))
						if inj.Fired() == 0 {
							t.Fatalf("%v call %d: the fault never fired", kind, n)
						}
						checkFault(t, fmt.Sprintf("%v on %v call %d", e, kind, n), sc, m, kind, err, e)
						checked++
					}
				}
			}
		})
	}
	t.Logf("%d injected faults checked", checked)
}

// The process remembers the directories it saw durable, so that only the
// first new file in a directory pays for the walk up the path.
func TestFoundDirectoryWalkedOnce(t *testing.T) {
	m := vfs.NewMem()
	for _, d := range []string{"/a", "/a/b", "/a/b/c"} {
		if err := m.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	syncs := map[string]int{}
	var mu sync.Mutex
	m.SetHook(func(op vfs.Op, name string) {
		if op == vfs.OpSyncDir {
			mu.Lock()
			syncs[filepath.ToSlash(name)]++ // Windows cleans /a to \a
			mu.Unlock()
		}
	})
	for i := range 3 {
		if err := durable.WriteFile(fmt.Sprintf("/a/b/c/f%d", i), []byte("x"), 0o600, durable.WithFS(m)); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{"/": 1, "/a": 1, "/a/b": 1, "/a/b/c": 3}
	if fmt.Sprint(syncs) != fmt.Sprint(want) {
		t.Fatalf("directory fsyncs %v, want %v", syncs, want)
	}
}
