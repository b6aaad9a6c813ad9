package durable_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// Backup when the target and its backup are already one file: what a kill
// after the backup's rename and before the replace's leaves.

func memBackupLinked(t *testing.T) *vfs.MemFS {
	m := memWith(map[string]string{"/etc/app.conf": v2})
	if err := m.Link("/etc/app.conf", "/etc/app.conf.bak.1"); err != nil {
		t.Fatal(err)
	}
	m.SyncAll()
	return m
}

func TestCrashBackupAlreadyLinked(t *testing.T) {
	const name = "/etc/app.conf"
	m := memBackupLinked(t)
	during, after, err := crashEveryStep(m, func(fsys vfs.FS) error {
		return durable.WriteFile(name, []byte(v3), 0o600, durable.WithFS(fsys), durable.Backup())
	})
	if err != nil {
		t.Fatal(err)
	}
	if tmp := tempsIn(m, "/"); len(tmp) > 0 {
		t.Fatalf("temp files left: %v\n%s", tmp, m.Dump())
	}
	checkStates(t, during, func(s crashState) error {
		c, b := content(t, s.fs, name), content(t, s.fs, name+".bak.1")
		if !oneOf(c, v2, v3) || b != v2 {
			return fmt.Errorf("target %.30q, backup %.30q", c, b)
		}
		return nil
	})
	checkStates(t, after, func(s crashState) error {
		if c, b := content(t, s.fs, name), content(t, s.fs, name+".bak.1"); c != v3 || b != v2 {
			return fmt.Errorf("returned, but after a crash: target %.30q, backup %.30q", c, b)
		}
		if tmp := tempsIn(s.fs, "/"); len(tmp) > 0 {
			return fmt.Errorf("temp files after a crash: %v", tmp)
		}
		return nil
	})
}

func TestFaultBackupAlreadyLinked(t *testing.T) {
	sc := faultScenario{name: "backup already linked", target: "/etc/app.conf", old: v2, new: v3,
		backup: "/etc/app.conf.bak.1", oldBak: v2}
	run := func(f vfs.FS) error {
		return durable.WriteFile(sc.target, []byte(v3), 0o600, durable.WithFS(f), durable.Backup())
	}
	faultEachCall(t, func() *vfs.MemFS { return memBackupLinked(t) }, run, sc)
}

// The same on the real filesystem, and with the rename racing: bak becomes
// another name of the target only after the backup looked.
func TestBackupAlreadyLinkedOS(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "settings.json")
	if err := os.WriteFile(name, []byte("v1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(name, name+".bak.1"); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	if err := durable.WriteFile(name, []byte("v2"), 0o600, durable.Backup()); err != nil {
		t.Fatal(err)
	}
	if got, bak := testdir.ReadString(t, name), testdir.ReadString(t, name+".bak.1"); got != "v2" || bak != "v1" {
		t.Fatalf("file %q backup %q, want v2 and v1", got, bak)
	}
	noTemps(t, dir)
}

// linkAfterStat makes bak a link of target right after the backup's first
// look at it, as a writer in another process would.
type linkAfterStat struct {
	*vfs.MemFS
	target, bak string
	done        bool
}

func (l *linkAfterStat) Link(oldname, newname string) error {
	if !l.done && oldname == l.target {
		l.done = true
		l.MemFS.Remove(l.bak)
		if err := l.MemFS.Link(l.target, l.bak); err != nil {
			return err
		}
	}
	return l.MemFS.Link(oldname, newname)
}

func TestBackupLinkedMeanwhile(t *testing.T) {
	m := memWith(map[string]string{"/etc/app.conf": v2, "/etc/app.conf.bak.1": v1})
	fsys := &linkAfterStat{MemFS: m, target: "/etc/app.conf", bak: "/etc/app.conf.bak.1"}
	if err := durable.WriteFile("/etc/app.conf", []byte(v3), 0o600, durable.WithFS(fsys), durable.Backup()); err != nil {
		t.Fatal(err)
	}
	if c, b := content(t, m, "/etc/app.conf"), content(t, m, "/etc/app.conf.bak.1"); c != v3 || b != v2 {
		t.Fatalf("target %.30q, backup %.30q", c, b)
	}
	if tmp := tempsIn(m, "/"); len(tmp) > 0 {
		t.Fatalf("the rename between two names of one file left the temp link: %v", tmp)
	}
}

// SkipUnchanged with ForcePerm: unchanged content, another mode. The mode
// a replace gives is perm less the umask.

func TestSkipUnchangedAppliesForcedPerm(t *testing.T) {
	for _, tc := range []struct {
		name       string
		have, perm fs.FileMode
		want       fs.FileMode
		skip       bool // the file is left alone (same inode)
	}{
		{"narrower", 0o644, 0o600, 0o600, false},
		{"wider", 0o600, 0o644, 0o644, false},
		{"same", 0o640, 0o640, 0o640, true},
		{"the umask narrows it to the same", 0o644, 0o666, 0o644, true},
		{"the umask narrows it to another", 0o666, 0o666, 0o644, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, via := range []string{"WriteFile", "Create"} {
				m := memWithMode("/s", v1, tc.have)
				before, _ := m.Stat("/s")
				write := func(fsys vfs.FS) error {
					opts := []durable.Option{durable.WithFS(fsys), durable.SkipUnchanged(), durable.ForcePerm()}
					if via == "WriteFile" {
						return durable.WriteFile("/s", []byte(v1), tc.perm, opts...)
					}
					p, err := durable.Create("/s", tc.perm, opts...)
					if err != nil {
						return err
					}
					defer p.Cleanup()
					if _, err := p.WriteString(v1); err != nil {
						return err
					}
					return p.Commit()
				}
				during, after, err := crashEveryStep(m, write)
				if err != nil {
					t.Fatal(err)
				}
				fi, _ := m.Stat("/s")
				if fi.Mode().Perm() != tc.want {
					t.Fatalf("%s: mode %v, want %v", via, fi.Mode().Perm(), tc.want)
				}
				if skipped := sameIno(before, fi); skipped != tc.skip {
					t.Fatalf("%s: left alone = %v, want %v", via, skipped, tc.skip)
				}
				if tmp := tempsIn(m, "/"); len(tmp) > 0 {
					t.Fatalf("%s: temp files left: %v", via, tmp)
				}
				checkStates(t, during, func(s crashState) error {
					fi, err := s.fs.Stat("/s")
					if err != nil || content(t, s.fs, "/s") != v1 || !oneOf(fi.Mode().Perm().String(), tc.have.String(), tc.want.String()) {
						return fmt.Errorf("%s: %v %v", via, fi.Mode(), err)
					}
					return nil
				})
				checkStates(t, after, func(s crashState) error {
					fi, err := s.fs.Stat("/s")
					if err != nil || content(t, s.fs, "/s") != v1 || fi.Mode().Perm() != tc.want {
						return fmt.Errorf("%s returned, but after a crash the mode is %v (%v), want %v", via, fi.Mode(), err, tc.want)
					}
					return nil
				})
			}
		})
	}
}

// memWithMode is a model holding one durable file of exactly mode, under
// the default umask 022 from then on.
func memWithMode(name, data string, mode fs.FileMode) *vfs.MemFS {
	m := memWith(nil)
	m.SetUmask(0)
	if err := vfs.WriteFile(m, name, []byte(data), mode); err != nil {
		panic(err)
	}
	m.SetUmask(0o022)
	m.SyncAll()
	return m
}

func sameIno(a, b fs.FileInfo) bool {
	return a.Sys().(*vfs.MemStat).Ino == b.Sys().(*vfs.MemStat).Ino
}

func TestFaultSkipUnchangedForcePerm(t *testing.T) {
	fresh := func() *vfs.MemFS { return memWithMode("/s", v1, 0o600) }
	sc := faultScenario{name: "skip unchanged, forced perm", target: "/s", old: v1, new: v1}
	run := func(f vfs.FS) error {
		return durable.WriteFile("/s", []byte(v1), 0o644, durable.WithFS(f), durable.SkipUnchanged(), durable.ForcePerm())
	}
	faultEachCall(t, fresh, run, sc)
}

func TestSkipUnchangedForcePermOS(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "s")
	if err := os.WriteFile(name, []byte("same"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, 0o600); err != nil {
		t.Fatal(err)
	}
	// What 0o640 becomes under this process's umask.
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	pfi, err := os.Stat(probe)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(probe)
	if err := durable.WriteFile(name, []byte("same"), 0o640, durable.SkipUnchanged(), durable.ForcePerm()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if want := pfi.Mode().Perm(); fi.Mode().Perm() != want {
		t.Fatalf("mode %v, want %v: SkipUnchanged left ForcePerm's mode unapplied", fi.Mode().Perm(), want)
	}
	noTemps(t, dir)
}

// NoSplitLinks refuses a target with other hard links, in every verb, at
// the start and at the rename.

func memLinked(t *testing.T) *vfs.MemFS {
	m := memWith(map[string]string{"/d/f": v1})
	if err := m.Link("/d/f", "/d/g"); err != nil {
		t.Fatal(err)
	}
	m.SyncAll()
	return m
}

func TestNoSplitLinks(t *testing.T) {
	verbs := map[string]func(fsys vfs.FS, opts ...durable.Option) error{
		"WriteFile": func(fsys vfs.FS, opts ...durable.Option) error {
			return durable.WriteFile("/d/f", []byte(v2), 0o600, append(opts, durable.WithFS(fsys))...)
		},
		"Create": func(fsys vfs.FS, opts ...durable.Option) error {
			p, err := durable.Create("/d/f", 0o600, append(opts, durable.WithFS(fsys))...)
			if err != nil {
				return err
			}
			defer p.Cleanup()
			p.WriteString(v2)
			return p.Commit()
		},
		"Update": func(fsys vfs.FS, opts ...durable.Option) error {
			return durable.Update("/d/f", func([]byte) ([]byte, error) { return []byte(v2), nil }, append(opts, durable.WithFS(fsys))...)
		},
		"Updater": func(fsys vfs.FS, opts ...durable.Option) error {
			u := durable.NewUpdater("/d/f", append(opts, durable.WithFS(fsys))...)
			defer u.Close()
			return u.Update(context.Background(), func([]byte) ([]byte, error) { return []byte(v2), nil })
		},
	}
	for verb, run := range verbs {
		t.Run(verb, func(t *testing.T) {
			m := memLinked(t)
			during, _, err := crashEveryStep(m, func(fsys vfs.FS) error { return run(fsys, durable.NoSplitLinks()) })
			if !errors.Is(err, durable.ErrHardLinked) {
				t.Fatalf("err = %v, want ErrHardLinked", err)
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Path != "/d/f" {
				t.Fatalf("err %v does not name /d/f", err)
			}
			if c, g := content(t, m, "/d/f"), content(t, m, "/d/g"); c != v1 || g != v1 {
				t.Fatalf("refused, yet f %.20q g %.20q", c, g)
			}
			if tmp := tempsIn(m, "/"); len(tmp) > 0 {
				t.Fatalf("temp files left: %v", tmp)
			}
			for _, s := range during {
				if c := content(t, s.fs, "/d/f"); c != v1 {
					t.Fatalf("a refused write changed the file: %s", describe(s))
				}
			}

			// The default splits the link, as documented.
			m = memLinked(t)
			if err := run(m); err != nil {
				t.Fatal(err)
			}
			if c, g := content(t, m, "/d/f"), content(t, m, "/d/g"); c != v2 || g != v1 {
				t.Fatalf("without NoSplitLinks: f %.20q g %.20q, want the link split", c, g)
			}

			// A single name is no reason to refuse.
			m = memWith(map[string]string{"/d/f": v1})
			if err := run(m, durable.NoSplitLinks()); err != nil {
				t.Fatal(err)
			}
			if c := content(t, m, "/d/f"); c != v2 {
				t.Fatalf("f %.20q", c)
			}
		})
	}
}

// A link made after Create looked is caught at Commit.
func TestNoSplitLinksLinkedMeanwhile(t *testing.T) {
	m := memWith(map[string]string{"/d/f": v1})
	p, err := durable.Create("/d/f", 0o600, durable.WithFS(m), durable.NoSplitLinks())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Cleanup()
	p.WriteString(v2)
	if err := m.Link("/d/f", "/d/g"); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); !errors.Is(err, durable.ErrHardLinked) {
		t.Fatalf("Commit: %v, want ErrHardLinked", err)
	}
	if c := content(t, m, "/d/f"); c != v1 {
		t.Fatalf("f %.20q", c)
	}
	if tmp := tempsIn(m, "/"); len(tmp) > 0 {
		t.Fatalf("temp files left: %v", tmp)
	}
}

func TestFaultNoSplitLinks(t *testing.T) {
	sc := faultScenario{name: "no split links", target: "/d/f", old: v1, new: v2}
	run := func(f vfs.FS) error {
		return durable.WriteFile("/d/f", []byte(v2), 0o600, durable.WithFS(f), durable.NoSplitLinks())
	}
	faultEachCall(t, func() *vfs.MemFS { return memWith(map[string]string{"/d/f": v1}) }, run, sc)
}

func TestNoSplitLinksOS(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "f")
	if err := os.WriteFile(name, []byte("v1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(name, filepath.Join(dir, "g")); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	err := durable.WriteFile(name, []byte("v2"), 0o600, durable.NoSplitLinks())
	if !errors.Is(err, durable.ErrHardLinked) {
		t.Fatalf("err = %v, want ErrHardLinked", err)
	}
	wantContent(t, name, "v1", "after the refusal")
	noTemps(t, dir)
}

// faultEachCall fails every call run makes on a fresh model, one at a time,
// and checks each outcome with checkFault.
func faultEachCall(t *testing.T, fresh func() *vfs.MemFS, run func(vfs.FS) error, sc faultScenario) {
	t.Helper()
	kinds := []vfs.Op{vfs.OpOpen, vfs.OpRead, vfs.OpWrite, vfs.OpSync, vfs.OpClose, vfs.OpChmod, vfs.OpChown,
		vfs.OpStat, vfs.OpReadlink, vfs.OpRename, vfs.OpLink, vfs.OpRemove, vfs.OpMkdir, vfs.OpSyncDir}
	checked := 0
	for _, kind := range kinds {
		probe := vfs.Inject(fresh(), vfs.Fault{Ops: kind})
		if err := run(probe); err != nil {
			t.Fatalf("without faults: %v", err)
		}
		for n := 1; n <= probe.Count(); n++ {
			for _, e := range []error{syscall.EIO, syscall.ENOSPC} {
				m := fresh()
				inj := vfs.Inject(m, vfs.Fault{Ops: kind, N: n, Err: e})
				err := run(inj)
				if inj.Fired() == 0 {
					t.Fatalf("%v call %d: the fault never fired", kind, n)
				}
				checkFault(t, fmt.Sprintf("%v on %v call %d", e, kind, n), sc, m, kind, err, e)
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no call was failed")
	}
	t.Logf("%d injected faults checked", checked)
}
