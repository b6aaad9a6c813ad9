package durable_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/vfs"
)

// Crash-point enumeration: run an operation on the in-memory model, crash
// after every step it takes (in many ways per step: everything unsynced lost,
// everything kept, and random mixes of lost, torn and zeroed data and lost
// directory entries), and check the invariant in every state. A second check
// crashes after the operation returned: success must mean durable.

// crashBound is how many states a step may leave and still have all of
// them enumerated; a step that leaves more is sampled with as many seeds
// (0 loses everything unsynced, 1 keeps everything, the rest are random
// mixes). Every step is crashed under both directory-ordering profiles.
const crashBound = 40

type crashState struct {
	step  int    // how many mutating calls had completed
	op    string // the last of them
	state crashtest.State
	fs    *vfs.MemFS
}

// statesNow returns the states a crash now could leave m in, under each
// directory-ordering profile.
func statesNow(m *vfs.MemFS, step int, op string) []crashState {
	var out []crashState
	for _, order := range crashtest.Profiles() {
		m.SetCrashModel(vfs.CrashModel{Dirs: order})
		states, _ := crashtest.States(m, crashBound)
		for _, st := range states {
			out = append(out, crashState{step, op, st, st.FS})
		}
	}
	return out
}

// crashEveryStep runs op on m, crashing after every mutating call, and
// returns the crash states taken during op, those taken after it returned,
// and op's error.
func crashEveryStep(m *vfs.MemFS, op func(fsys vfs.FS) error) (during, after []crashState, err error) {
	step := 0
	m.SetHook(func(o vfs.Op, name string) {
		step++
		during = append(during, statesNow(m, step, fmt.Sprintf("%v %s", o, name))...)
	})
	err = op(m)
	m.SetHook(nil)
	after = statesNow(m, step, "returned")
	return during, after, err
}

// absent is what content returns for a file that does not exist.
const absent = "<absent>"

// content returns the file's content, or absent.
func content(t *testing.T, fsys vfs.FS, name string) string {
	t.Helper()
	return crashtest.Content(t, fsys, name)
}

func oneOf(s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

func describe(s crashState) string {
	return fmt.Sprintf("crash after step %d (%s), %v, %v profile:\n%s", s.step, s.op, s.state, s.fs.Model().Dirs, s.fs.Dump())
}

// Versions are long enough that a torn write cannot pass for one.
var (
	v1 = "version-1 " + strings.Repeat("a", 3000)
	v2 = "version-2 " + strings.Repeat("b", 5000)
	v3 = "version-3 " + strings.Repeat("c", 100)
)

func memWith(files map[string]string) *vfs.MemFS { return crashtest.MemWith(files, 0o600) }

func TestCrashWriteFileReplace(t *testing.T) {
	const name = "/app/config.json"
	checkReplace(t, memWith(map[string]string{name: v1}), name, v1, v2, func(fsys vfs.FS) error {
		return durable.WriteFile(name, []byte(v2), 0o600, durable.WithFS(fsys))
	})
}

// The created directories must survive too, or the file would vanish.
func TestCrashWriteFileNew(t *testing.T) {
	const name = "/home/u/.config/app/new/token.json"
	checkReplace(t, memWith(map[string]string{"/home/u/.profile": "x"}), name, absent, v1, func(fsys vfs.FS) error {
		return durable.WriteFile(name, []byte(v1), 0o600, durable.WithFS(fsys))
	})
}

func TestCrashSuccessiveWrites(t *testing.T) {
	const name = "/state"
	m := memWith(map[string]string{name: v1})
	acked := "v1"
	step := 0
	var states []crashState
	var ackedAt []string
	m.SetHook(func(o vfs.Op, n string) {
		step++
		for _, st := range statesNow(m, step, fmt.Sprintf("%v %s", o, n)) {
			states = append(states, st)
			ackedAt = append(ackedAt, acked)
		}
	})
	for i, v := range []string{v2, v3} {
		if err := durable.WriteFile(name, []byte(v), 0o600, durable.WithFS(m)); err != nil {
			t.Fatal(err)
		}
		acked = fmt.Sprintf("v%d", i+2)
	}
	m.SetHook(nil)
	allowed := map[string][]string{"v1": {v1, v2}, "v2": {v2, v3}, "v3": {v3}}
	for i, s := range states {
		if c := content(t, s.fs, name); !oneOf(c, allowed[ackedAt[i]]...) {
			t.Fatalf("after %s was acknowledged, %s\nfile is %.30q", ackedAt[i], describe(s), c)
		}
	}
}

func TestCrashCreateCommit(t *testing.T) {
	const name = "/data/export.csv"
	checkReplace(t, memWith(map[string]string{name: v1}), name, v1, v2, func(fsys vfs.FS) error {
		f, err := durable.Create(name, 0o644, durable.WithFS(fsys))
		if err != nil {
			return err
		}
		defer f.Cleanup()
		for chunk := range 5 {
			if _, err := f.Write([]byte(v2[chunk*len(v2)/5 : (chunk+1)*len(v2)/5])); err != nil {
				return err
			}
		}
		return f.Commit()
	})
}

func TestCrashBackup(t *testing.T) {
	const name = "/etc/app.conf"
	m := memWith(map[string]string{name: v2, name + ".bak.1": v1})
	during, after, err := crashEveryStep(m, func(fsys vfs.FS) error {
		return durable.WriteFile(name, []byte(v3), 0o600, durable.WithFS(fsys), durable.Backup())
	})
	if err != nil {
		t.Fatal(err)
	}
	invariant := func(s crashState) error {
		c, b := content(t, s.fs, name), content(t, s.fs, name+".bak.1")
		if !oneOf(c, v2, v3) {
			return fmt.Errorf("target is neither old nor new: %.30q", c)
		}
		if !oneOf(b, v1, v2) {
			return fmt.Errorf("backup is neither the old backup nor the old file: %.30q", b)
		}
		if c == v3 && b != v2 {
			return fmt.Errorf("new version visible but the previous one is not in the backup (%.30q)", b)
		}
		return nil
	}
	checkStates(t, during, invariant)
	checkStates(t, after, func(s crashState) error {
		if c, b := content(t, s.fs, name), content(t, s.fs, name+".bak.1"); c != v3 || b != v2 {
			return fmt.Errorf("returned, but after a crash: target %.30q, backup %.30q", c, b)
		}
		return nil
	})
}

func TestCrashNoClobber(t *testing.T) {
	const name = "/run/once.lock.json"
	checkReplace(t, memWith(map[string]string{"/run/other": "x"}), name, absent, v1, func(fsys vfs.FS) error {
		return durable.WriteFile(name, []byte(v1), 0o600, durable.WithFS(fsys), durable.NoClobber())
	})
}

// checkReplace runs op, which replaces the content old of name (absent:
// no file) with new, crashing after every step: every crash during op
// must leave old or new, never torn or empty, and every crash after op
// returned must leave new.
func checkReplace(t *testing.T, m *vfs.MemFS, name, old, new string, op func(fsys vfs.FS) error) {
	t.Helper()
	during, after, err := crashEveryStep(m, op)
	if err != nil {
		t.Fatal(err)
	}
	checkStates(t, during, func(s crashState) error {
		if c := content(t, s.fs, name); !oneOf(c, old, new) {
			return fmt.Errorf("%s is neither old nor new: torn or empty: %.30q (%d bytes)", name, c, len(c))
		}
		return nil
	})
	checkStates(t, after, func(s crashState) error {
		if c := content(t, s.fs, name); c != new {
			return fmt.Errorf("returned, but after a crash %s is %.30q", name, c)
		}
		return nil
	})
}

// checkStates applies inv to every state and reports the first few failures
// with the step, the seed and the crashed tree.
func checkStates(t *testing.T, states []crashState, inv func(crashState) error) {
	t.Helper()
	if len(states) == 0 {
		t.Fatal("no crash states were produced: the hook never fired")
	}
	failures := 0
	for _, s := range states {
		if err := inv(s); err != nil {
			failures++
			if failures <= 3 {
				t.Errorf("%v\n%s", err, describe(s))
			}
		}
	}
	if failures > 0 {
		t.Errorf("%d of %d crash states violate the invariant", failures, len(states))
	}
	t.Logf("%d crash states checked", len(states))
}
