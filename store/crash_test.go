package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"
)

// Crash-point enumeration on the vfs model: run an operation, crash after
// every filesystem call it makes, and check the invariant in every state;
// then crash after the operation returned: success must be durable. Every
// crashed state must also open cleanly. Each step's states are enumerated
// when there are at most crashBound of them (everything unsynced lost,
// kept, every block of it old or new, every subset or prefix of the
// directory changes), otherwise sampled with as many seeds, under both
// directory-ordering profiles ("ordered" and "POSIX").

const crashBound = 24

type crashState struct {
	step  int
	op    string
	state crashtest.State
	order vfs.DirOrder
	fs    *vfs.MemFS
}

func crashEveryStep(m *vfs.MemFS, op func(vfs.FS) error) (during, after []crashState, err error) {
	return crashEveryStepOn(m, vfs.DirsPOSIX, crashtest.Profiles(), op)
}

// crashEveryStepOn is crashEveryStep with op running on a filesystem of
// profile run (what vfs.OrderedDirs tells the code), its crashes
// enumerated under each of profiles.
func crashEveryStepOn(m *vfs.MemFS, run vfs.DirOrder, profiles []vfs.DirOrder, op func(vfs.FS) error) (during, after []crashState, err error) {
	return crashEveryStepThen(m, run, profiles, op, nil)
}

// crashEveryStepThen is crashEveryStepOn that calls then, if not nil,
// after each step's states are collected (an interleaver runs the steps
// of a concurrent rotation there: see interleaver).
func crashEveryStepThen(m *vfs.MemFS, run vfs.DirOrder, profiles []vfs.DirOrder, op func(vfs.FS) error, then func()) (during, after []crashState, err error) {
	step := 0
	m.SetCrashModel(vfs.CrashModel{Dirs: run})
	collect := func(op string) []crashState {
		var out []crashState
		for _, order := range profiles {
			m.SetCrashModel(vfs.CrashModel{Dirs: order})
			states, _ := crashtest.States(m, crashBound)
			for _, st := range states {
				out = append(out, crashState{step, op, st, order, st.FS})
			}
		}
		m.SetCrashModel(vfs.CrashModel{Dirs: run})
		return out
	}
	m.SetHook(func(o vfs.Op, name string) {
		step++
		during = append(during, collect(fmt.Sprintf("%v %s", o, name))...)
		if then != nil {
			then()
		}
	})
	err = op(m)
	m.SetHook(nil)
	after = collect("returned")
	return during, after, err
}

func checkStates(t *testing.T, states []crashState, inv func(crashState) error) {
	t.Helper()
	if len(states) == 0 {
		t.Fatal("no crash states: the hook never fired")
	}
	failures := 0
	for _, s := range states {
		if err := inv(s); err != nil {
			failures++
			if failures <= 3 {
				t.Errorf("crash after step %d (%s), %v, %v profile: %v\n%s", s.step, s.op, s.state, s.order, err, s.fs.Dump())
			}
		}
	}
	if failures > 0 {
		t.Errorf("%d of %d crash states violate the invariant", failures, len(states))
	}
	t.Logf("%d crash states checked", len(states))
}

// version writes the document "name: vN" the way the store would, so that
// files can be compared by content.
func version(t *testing.T, n int) string {
	t.Helper()
	m := vfs.NewMem()
	s := open(t, "/v.json", &store.Options[Config]{FS: m})
	s.Update(ctx, func(c *Config) error { c.Name = fmt.Sprintf("v%d", n); c.Port = n; return nil })
	return readString(t, m, "/v.json")
}

func memWith(t *testing.T, files map[string]string) *vfs.MemFS {
	t.Helper()
	return crashtest.MemWith(files, 0o644)
}

func nameOf(t *testing.T, content string) string {
	t.Helper()
	var c Config
	if content == "<absent>" {
		return "absent"
	}
	if err := json.Unmarshal([]byte(content), &c); err != nil {
		return fmt.Sprintf("torn(%.20q)", content)
	}
	return c.Name
}

// reopen checks that a crashed state opens to one of the allowed names.
func reopen(s crashState, name string, backups int, allowed ...string) error {
	st, err := store.Open(name, &store.Options[Config]{FS: s.fs, Backups: backups})
	if err != nil {
		return fmt.Errorf("reopening: %v", err)
	}
	c, _, _ := st.Get()
	for _, a := range allowed {
		if c.Name == a || (a == "absent" && c.Name == "") {
			return nil
		}
	}
	return fmt.Errorf("reopened to %q, want one of %v", c.Name, allowed)
}

func TestCrashUpdateRotatesBackups(t *testing.T) {
	// One backup (the default) shifts nothing; three shift a chain. On a
	// filesystem that orders directory changes (vfs.OrderedDirs) the
	// rotation skips its directory fsyncs: its crashes are those of that
	// profile alone.
	for _, run := range vfs.DirOrders() {
		profiles := crashtest.Profiles()
		if run == vfs.DirsOrdered {
			profiles = []vfs.DirOrder{vfs.DirsOrdered}
		}
		for _, backups := range []int{1, 3} {
			t.Run(fmt.Sprintf("%v/backups=%d", run, backups), func(t *testing.T) { testCrashRotate(t, backups, run, profiles, nil) })
		}
	}
}

// testCrashRotate runs the update in line, its rotation before the new
// version is written, or with iv not nil, its rotation's steps where iv
// says (TestCrashRotateInterleaved).
func testCrashRotate(t *testing.T, backups int, run vfs.DirOrder, profiles []vfs.DirOrder, iv *interleaver) {
	const name = "/app/config.json"
	v0, v1, v2, v3 := version(t, 0), version(t, 1), version(t, 2), version(t, 3)
	m := memWith(t, map[string]string{name: v2, name + ".bak.1": v1, name + ".bak.2": v0})
	var then func()
	if iv != nil {
		then = iv.changed
	}
	during, after, err := crashEveryStepThen(m, run, profiles, func(fsys vfs.FS) error {
		s, err := store.Open(name, &store.Options[Config]{FS: fsys, Backups: backups})
		if err != nil {
			return err
		}
		if iv != nil {
			store.Interleave(s, iv.start)
		}
		_, err = s.Update(ctx, func(c *Config) error { c.Name, c.Port = "v3", 3; return nil })
		return err
	}, then)
	if iv != nil && iv.started != 1 {
		t.Fatalf("the rotation was interleaved %d times, want once", iv.started)
	}
	if err != nil {
		t.Fatal(err)
	}
	// The publish fsyncs the directory once; the rotation adds one per
	// step, except where the directory orders its changes.
	syncs := map[int]bool{}
	for _, st := range during {
		if strings.HasPrefix(st.op, "syncdir ") {
			syncs[st.step] = true
		}
	}
	if want := map[bool]int{false: 1 + backups, true: 1}[run == vfs.DirsOrdered]; len(syncs) != want {
		t.Errorf("%d directory fsyncs, want %d", len(syncs), want)
	}
	good := map[string]bool{v0: true, v1: true, v2: true, v3: true}
	checkStates(t, during, func(s crashState) error {
		main := readString(t, s.fs, name)
		if main != v2 && main != v3 {
			return fmt.Errorf("file is %s, want v2 or v3", nameOf(t, main))
		}
		for i := 1; i <= 3; i++ {
			if b := readString(t, s.fs, fmt.Sprintf("%s.bak.%d", name, i)); b != "<absent>" && !good[b] {
				return fmt.Errorf("bak.%d is %s: a backup must be a good version", i, nameOf(t, b))
			}
		}
		if main == v3 && readString(t, s.fs, name+".bak.1") != v2 {
			return errors.New("v3 is visible but v2 is not in bak.1")
		}
		// Once v3 is visible the whole rotation is durable: no backup
		// was lost on the way.
		if main == v3 {
			for i, want := range []string{v2, v1, v0}[:backups] {
				if b := readString(t, s.fs, fmt.Sprintf("%s.bak.%d", name, i+1)); b != want {
					return fmt.Errorf("v3 is visible but bak.%d is %s, want %s", i+1, nameOf(t, b), nameOf(t, want))
				}
			}
		}
		// A crash during the rotation loses no version but the oldest.
		for i, v := range []string{v1, v0}[:min(backups, 2)] {
			if backups > i+1 && !holds(t, s.fs, name, v) {
				return fmt.Errorf("%s is under no name", nameOf(t, v))
			}
		}
		return reopen(s, name, backups, "v2", "v3")
	})
	checkStates(t, after, func(s crashState) error {
		want := []string{v3, v2, v1, v0}[:backups+1]
		got := []string{readString(t, s.fs, name)}
		for i := 1; i <= backups; i++ {
			got = append(got, readString(t, s.fs, fmt.Sprintf("%s.bak.%d", name, i)))
		}
		for i := range got {
			if got[i] != want[i] {
				var names []string
				for _, g := range got {
					names = append(names, nameOf(t, g))
				}
				return fmt.Errorf("after Update returned: file and backups are %v, want v3 v2 v1 v0 (the first %d)", names, len(want))
			}
		}
		if tmp := tempsIn(s.fs, "/"); len(tmp) > 0 {
			return fmt.Errorf("temp files left: %v", tmp)
		}
		return nil
	})
}

// holds reports whether the file or one of its backups holds v.
func holds(t *testing.T, fsys vfs.FS, name, v string) bool {
	for i := range 5 {
		n := name
		if i > 0 {
			n = fmt.Sprintf("%s.bak.%d", name, i)
		}
		if readString(t, fsys, n) == v {
			return true
		}
	}
	return false
}

func TestCrashUpdateNewFile(t *testing.T) {
	const name = "/home/u/.config/app/state.json"
	m := memWith(t, map[string]string{"/home/u/.profile": "x"})
	v1 := version(t, 1)
	during, after, err := crashEveryStep(m, func(fsys vfs.FS) error {
		s, err := store.Open(name, &store.Options[Config]{FS: fsys})
		if err != nil {
			return err
		}
		_, err = s.Update(ctx, func(c *Config) error { c.Name, c.Port = "v1", 1; return nil })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	checkStates(t, during, func(s crashState) error {
		if c := readString(t, s.fs, name); c != "<absent>" && c != v1 {
			return fmt.Errorf("new file is %s", nameOf(t, c))
		}
		return reopen(s, name, 1, "absent", "v1")
	})
	checkStates(t, after, func(s crashState) error {
		if c := readString(t, s.fs, name); c != v1 {
			return fmt.Errorf("Update returned, but after a crash the file is %s", nameOf(t, c))
		}
		return nil
	})
}

func TestCrashRecovery(t *testing.T) {
	const name = "/app/config.json"
	v1, v2 := version(t, 1), version(t, 2)
	torn := v2[:len(v2)/2]
	m := memWith(t, map[string]string{name: torn, name + ".bak.1": v1})
	during, after, err := crashEveryStep(m, func(fsys vfs.FS) error {
		recovered := false
		_, err := store.Open(name, &store.Options[Config]{FS: fsys, OnRecover: func(r *store.RecoveredError) {
			recovered = errors.Is(r, store.ErrCorrupt)
		}})
		if err != nil || !recovered {
			return fmt.Errorf("Open: %v, recovery reported: %v", err, recovered)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	inv := func(s crashState, done bool) error {
		main := readString(t, s.fs, name)
		if main != torn && main != v1 {
			return fmt.Errorf("file is %s, want the damaged one or v1", nameOf(t, main))
		}
		if b := readString(t, s.fs, name+".bak.1"); b != v1 {
			return fmt.Errorf("bak.1 is %s", nameOf(t, b))
		}
		kept := false
		ents, _ := s.fs.ReadDir("/app")
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "config.json.corrupt.") && readString(t, s.fs, "/app/"+e.Name()) == torn {
				kept = true
			}
		}
		if main == v1 && !kept {
			return errors.New("the damaged file was replaced but no copy of it survived")
		}
		if done && (main != v1 || !kept) {
			return errors.New("recovery returned but is not durable")
		}
		return reopen(s, name, 1, "v1")
	}
	checkStates(t, during, func(s crashState) error { return inv(s, false) })
	checkStates(t, after, func(s crashState) error { return inv(s, true) })
}

type migV2 struct {
	Title string `json:"title"`
}

func migrateV1() map[int]func(map[string]json.RawMessage) error {
	return map[int]func(map[string]json.RawMessage) error{
		1: func(d map[string]json.RawMessage) error { d["title"] = d["name"]; delete(d, "name"); return nil },
	}
}

func TestCrashMigration(t *testing.T) {
	const name = "/app/config.json"
	v1 := `{"schema": 1, "name": "` + strings.Repeat("n", 3000) + `", "other": true}`
	m := memWith(t, map[string]string{name: v1})
	during, after, err := crashEveryStep(m, func(fsys vfs.FS) error {
		_, err := store.Open(name, &store.Options[migV2]{FS: fsys, Schema: 2, Migrate: migrateV1()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	m2 := memWith(t, map[string]string{name: v1})
	store.Open(name, &store.Options[migV2]{FS: m2, Schema: 2, Migrate: migrateV1()})
	migrated := readString(t, m2, name)
	inv := func(s crashState, done bool) error {
		main := readString(t, s.fs, name)
		pre := readString(t, s.fs, name+".pre-v1")
		switch {
		case main != v1 && main != migrated:
			return fmt.Errorf("file is %.40q, want v1 or the migrated version", main)
		case main == migrated && pre != v1:
			return fmt.Errorf("migrated, but the pre-migration copy is %.40q", pre)
		case done && main != migrated:
			return errors.New("Open returned but the migration is not durable")
		}
		st, err := store.Open(name, &store.Options[migV2]{FS: s.fs, Schema: 2, Migrate: migrateV1()})
		if err != nil {
			return fmt.Errorf("reopening: %v", err)
		}
		if c, _, _ := st.Get(); c.Title != strings.Repeat("n", 3000) {
			return fmt.Errorf("reopened to %.20q", c.Title)
		}
		return nil
	}
	checkStates(t, during, func(s crashState) error { return inv(s, false) })
	checkStates(t, after, func(s crashState) error { return inv(s, true) })
}

// Fault injection: fail every call of an operation in turn, with EIO,
// ENOSPC (once, and from then on) and short writes, and check that the
// error surfaces, the file and its backups are intact, damaged data is
// never lost and no temp file is left.

type faultCase struct {
	name  string
	files map[string]string
	run   func(vfs.FS) error
	check func(t *testing.T, m *vfs.MemFS, err error) error
}

func faultCases(t *testing.T) []faultCase {
	const name = "/app/config.json"
	v0, v1, v2 := version(t, 0), version(t, 1), version(t, 2)
	torn := v2[:len(v2)/3]
	v1mig := `{"schema": 1, "name": "old", "other": [1]}`
	return []faultCase{
		{
			name:  "update with backups",
			files: map[string]string{name: v1, name + ".bak.1": v0},
			run: func(f vfs.FS) error {
				s, err := store.Open(name, &store.Options[Config]{FS: f, Backups: 2})
				if err != nil {
					return err
				}
				_, err = s.Update(ctx, func(c *Config) error { c.Name, c.Port = "v2", 2; return nil })
				return err
			},
			check: func(t *testing.T, m *vfs.MemFS, err error) error {
				main, b1, b2 := readString(t, m, name), readString(t, m, name+".bak.1"), readString(t, m, name+".bak.2")
				switch {
				case err == nil && (main != v2 || b1 != v1 || b2 != v0):
					return fmt.Errorf("succeeded, but file and backups are %s %s %s", nameOf(t, main), nameOf(t, b1), nameOf(t, b2))
				case main != v1 && main != v2:
					return fmt.Errorf("file is %s", nameOf(t, main))
				case b1 != v0 && b1 != v1 && b1 != "<absent>", b2 != v0 && b2 != "<absent>":
					return fmt.Errorf("backups are %s %s", nameOf(t, b1), nameOf(t, b2))
				}
				return nil
			},
		},
		{
			// One backup, twice: a first update whose publish failed
			// leaves bak.1 a second name of the file, which the second
			// must cope with (no temp left, bak.1 still v1).
			name:  "two updates with one backup",
			files: map[string]string{name: v1, name + ".bak.1": v0},
			run: func(f vfs.FS) error {
				s, err := store.Open(name, &store.Options[Config]{FS: f})
				if err != nil {
					return err
				}
				_, err1 := s.Update(ctx, func(c *Config) error { c.Name, c.Port = "v2", 2; return nil })
				_, err2 := s.Update(ctx, func(c *Config) error {
					if c.Name == "v2" {
						return store.ErrNoChange
					}
					c.Name, c.Port = "v2", 2
					return nil
				})
				return errors.Join(err1, err2)
			},
			check: func(t *testing.T, m *vfs.MemFS, err error) error {
				main, b1 := readString(t, m, name), readString(t, m, name+".bak.1")
				switch {
				case err == nil && (main != v2 || b1 != v1):
					return fmt.Errorf("succeeded, but file and backup are %s %s", nameOf(t, main), nameOf(t, b1))
				case main != v1 && main != v2:
					return fmt.Errorf("file is %s", nameOf(t, main))
				case main == v2 && b1 != v1:
					return fmt.Errorf("v2 is published but bak.1 is %s", nameOf(t, b1))
				case b1 != v0 && b1 != v1:
					return fmt.Errorf("backup is %s", nameOf(t, b1))
				}
				return nil
			},
		},
		{
			name:  "recovery",
			files: map[string]string{name: torn, name + ".bak.1": v1},
			run: func(f vfs.FS) error {
				var rec *store.RecoveredError
				s, err := store.Open(name, &store.Options[Config]{FS: f, OnRecover: func(r *store.RecoveredError) {
					if rec == nil {
						rec = r
					}
				}})
				if err != nil {
					return err
				}
				c, _, gerr := s.Get()
				if gerr != nil {
					return gerr
				}
				if c.Name != "v1" {
					return fmt.Errorf("recovered %q", c.Name)
				}
				if rec != nil && rec.MoveErr != nil {
					return rec.MoveErr // reported, value still good
				}
				return nil
			},
			check: func(t *testing.T, m *vfs.MemFS, err error) error {
				main := readString(t, m, name)
				kept := false
				ents, _ := m.ReadDir("/app")
				for _, e := range ents {
					if strings.Contains(e.Name(), ".corrupt.") && readString(t, m, "/app/"+e.Name()) == torn {
						kept = true
					}
				}
				switch {
				case main != torn && main != v1:
					return fmt.Errorf("file is %s", nameOf(t, main))
				case main == v1 && !kept:
					return errors.New("the damaged file was replaced and not kept")
				case readString(t, m, name+".bak.1") != v1:
					return errors.New("the backup changed")
				}
				return nil
			},
		},
		{
			name:  "migration",
			files: map[string]string{name: v1mig},
			run: func(f vfs.FS) error {
				s := &store.Options[migV2]{FS: f, Schema: 2, Migrate: migrateV1()}
				st, err := store.Open(name, s)
				if err != nil {
					return err
				}
				// Get answers from memory if the file could not be
				// migrated; an Update must fail instead.
				_, err = st.Update(ctx, func(c *migV2) error { return store.ErrNoChange })
				return err
			},
			check: func(t *testing.T, m *vfs.MemFS, err error) error {
				main, pre := readString(t, m, name), readString(t, m, name+".pre-v1")
				migrated := strings.Contains(main, `"schema": 2`)
				switch {
				case main != v1mig && !migrated:
					return fmt.Errorf("file is %.40q", main)
				case migrated && pre != v1mig:
					return errors.New("migrated without the pre-migration copy")
				}
				return nil
			},
		},
	}
}

func TestFaultEveryCall(t *testing.T) {
	kinds := []vfs.Op{vfs.OpOpen, vfs.OpRead, vfs.OpWrite, vfs.OpSync, vfs.OpClose, vfs.OpStat, vfs.OpReadDir,
		vfs.OpRename, vfs.OpLink, vfs.OpRemove, vfs.OpMkdir, vfs.OpSyncDir, vfs.OpChmod, vfs.OpChown, vfs.OpReadlink}
	total := 0
	for _, fc := range faultCases(t) {
		t.Run(fc.name, func(t *testing.T) {
			for _, kind := range kinds {
				probe := vfs.Inject(memWith(t, fc.files), vfs.Fault{Ops: kind})
				if err := fc.run(probe); err != nil {
					t.Fatalf("without faults: %v", err)
				}
				for n := 1; n <= probe.Count(); n++ {
					faults := []struct {
						label string
						f     vfs.Fault
						want  error
					}{
						{"EIO", vfs.Fault{Ops: kind, N: n, Err: syscall.EIO}, syscall.EIO},
						{"ENOSPC from then on", vfs.Fault{Ops: kind, N: n, Err: syscall.ENOSPC, Sticky: true}, syscall.ENOSPC},
					}
					if kind == vfs.OpWrite {
						faults = append(faults, struct {
							label string
							f     vfs.Fault
							want  error
						}{"short write", vfs.Fault{Ops: kind, N: n, Short: true}, nil})
					}
					for _, fl := range faults {
						total++
						m := memWith(t, fc.files)
						inj := vfs.Inject(m, fl.f)
						err := fc.run(inj)
						where := fmt.Sprintf("%s on %v call %d", fl.label, kind, n)
						if err != nil && fl.want != nil && !errors.Is(err, fl.want) && !errors.Is(err, fs.ErrNotExist) {
							t.Errorf("%s: err = %v, want it to wrap %v", where, err, fl.want)
						}
						if cerr := fc.check(t, m, err); cerr != nil {
							t.Errorf("%s (err %v): %v\n%s", where, err, cerr, m.Dump())
						}
						if tmp := tempsIn(m, "/"); len(tmp) > 0 {
							t.Errorf("%s: temp files left: %v", where, tmp)
						}
					}
				}
			}
		})
	}
	t.Logf("%d injected faults checked", total)
}

func tempsIn(fsys vfs.FS, dir string) []string {
	ents, _ := fsys.ReadDir(dir)
	var out []string
	for _, e := range ents {
		p := strings.TrimSuffix(dir, "/") + "/" + e.Name()
		if e.IsDir() {
			out = append(out, tempsIn(fsys, p)...)
		} else if strings.HasSuffix(e.Name(), ".tmp") {
			out = append(out, p)
		}
	}
	return out
}
