package jsonl_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/vfs"
)

// Crash-point enumeration: run appends and repairs on the in-memory model,
// crash after every step they take (in many ways per step: everything
// unsynced lost, everything kept, and random mixes of lost, torn and zeroed
// data and lost directory entries), then open each crashed state as a
// restarted program would and check:
//   - Open succeeds: a crash never leaves damage it refuses;
//   - every line acknowledged before the crash is there, intact, once;
//   - the file parses line by line afterwards, and appends work;
//   - whatever Open cut is in an evidence file, byte for byte.

// crashBound is how many crash states a step may leave and still have all
// of them enumerated; a step that leaves more is sampled with as many
// seeds (0 loses everything unsynced, 1 keeps everything, the rest are
// random mixes).
const crashBound = 48

type crashState struct {
	step  int
	op    string
	state crashtest.State
	fs    *vfs.MemFS
	acked []string // lines acknowledged before the crash
}

func (s crashState) String() string {
	return fmt.Sprintf("crash after step %d (%s), %v, %v profile:\n%s", s.step, s.op, s.state, s.fs.Model().Dirs, s.fs.Dump())
}

// recorder collects crash states from a MemFS hook while appenders run,
// together with what had been acknowledged when each crash happened.
type recorder struct {
	m      *vfs.MemFS
	mu     sync.Mutex
	step   int
	acked  []string
	states []crashState
	count  crashtest.StateCount
}

// add records the states a crash now could leave.
func (r *recorder) add(op string, acked []string) {
	states, enumerated := crashtest.States(r.m, crashBound)
	r.count.Add(states, enumerated)
	for _, st := range states {
		r.states = append(r.states, crashState{r.step, op, st, st.FS, acked})
	}
}

func record(m *vfs.MemFS) *recorder {
	r := &recorder{m: m}
	m.SetHook(func(op vfs.Op, name string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.step++
		// What was acknowledged before the crash: an ack recorded after
		// this point may come from an fsync the crash undoes.
		r.add(fmt.Sprintf("%v %s", op, name), append([]string(nil), r.acked...))
	})
	return r
}

func (r *recorder) ack(line string) {
	r.mu.Lock()
	r.acked = append(r.acked, line)
	r.mu.Unlock()
}

// finish stops recording and adds the states a crash right after the
// operations returned could leave.
func (r *recorder) finish() []crashState {
	r.m.SetHook(nil)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add("returned", append([]string(nil), r.acked...))
	return r.states
}

// recoverStateWith opens the crashed state as a restarted program would,
// with opts (nil: the defaults) on the crashed state's FS, and checks the
// invariants; it returns the first violation. Whatever part of the file
// Open checked, the whole file must parse afterwards.
func recoverStateWith(t *testing.T, s crashState, name string, opts *jsonl.Options) error {
	before := content(t, s.fs, name)
	evBefore := evidence(t, s.fs, name)
	o := jsonl.Options{}
	if opts != nil {
		o = *opts
	}
	o.FS = s.fs
	f, err := jsonl.Open(name, &o)
	if err != nil {
		return fmt.Errorf("Open after the crash: %v", err)
	}
	rep := f.Report()
	after := content(t, s.fs, name)
	if before == "<absent>" {
		before = ""
	}
	// What Open cut is in a new evidence file; what it kept is untouched.
	switch {
	case rep.CutBytes > 0:
		cut := before[rep.CutOffset:]
		if ev := evidence(t, s.fs, name); ev[rep.Evidence] != cut || evBefore[rep.Evidence] != "" {
			return fmt.Errorf("Open cut %q but the evidence file %s holds %q", cut, rep.Evidence, ev[rep.Evidence])
		}
		if !strings.HasPrefix(before, after[:rep.CutOffset]) || int64(len(after)) != rep.SizeAfter {
			return fmt.Errorf("Open changed what it kept: before %q, after %q", before, after)
		}
	case !rep.Terminated && after != before:
		return fmt.Errorf("Open reported no repair but changed the file from %q to %q", before, after)
	}
	if rep.Terminated && after != strings.TrimRight(before, "\x00")+"\n" && after != before[:rep.CutOffset]+"\n" {
		return fmt.Errorf("Open terminated the last line wrongly: %q -> %q", before, after)
	}
	// The file parses, and every acknowledged line is there once.
	vals, errs := scanAll(s.fs, name)
	if len(errs) > 0 {
		return fmt.Errorf("after Open the file does not parse: %v\n%q", errs[0], after)
	}
	count := map[string]int{}
	for _, v := range vals {
		count[v]++
	}
	for _, l := range s.acked {
		if count[l] != 1 {
			return fmt.Errorf("acknowledged line %.40q appears %d times in %q", l, count[l], after)
		}
	}
	// And appending goes on.
	if err := f.Append(context.Background(), rec{ID: "after-recovery"}); err != nil {
		return fmt.Errorf("Append after recovery: %v", err)
	}
	f.Close()
	if vals, errs := scanAll(s.fs, name); len(errs) > 0 || vals[len(vals)-1] != `{"id":"after-recovery"}` {
		return fmt.Errorf("after a new append: %q, %v", vals, errs)
	}
	return nil
}

func checkStates(t *testing.T, states []crashState, name string) {
	t.Helper()
	checkStatesWith(t, states, name, nil)
}

func checkStatesWith(t *testing.T, states []crashState, name string, opts *jsonl.Options) {
	t.Helper()
	if len(states) == 0 {
		t.Fatal("no crash states were produced: the hook never fired")
	}
	failures := 0
	for _, s := range states {
		if err := recoverStateWith(t, s, name, opts); err != nil {
			failures++
			if failures <= 3 {
				t.Errorf("%v\n%v", err, s)
			}
		}
	}
	if failures > 0 {
		t.Errorf("%d of %d crash states violate the invariant", failures, len(states))
	}
}

// base is a log that was written and synced before the test.
var base = line("old-1", 50) + "\n" + line("old-2", 10) + "\n"

func TestCrashAppend(t *testing.T) {
	const name = "/app/session.jsonl"
	for _, tc := range []struct {
		name  string
		files map[string]string
	}{
		{"existing", map[string]string{name: base}},
		{"new file", map[string]string{"/app/other": "x"}},
		{"torn tail first", map[string]string{name: base + `{"id":"torn","pad":"pp`}},
	} {
		forProfiles(t, tc.name, func(t *testing.T, order vfs.DirOrder) {
			m := memUnder(order, tc.files)
			r := record(m)
			initial := []string{}
			if c := tc.files[name]; c != "" {
				vals, _ := scanAll(m, name)
				initial = vals
			}
			for _, l := range initial {
				r.ack(l)
			}
			f, err := jsonl.Open(name, &jsonl.Options{FS: m})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 6 {
				l := line(fmt.Sprintf("new-%d", i), 30*i)
				if err := f.AppendRaw(context.Background(), []byte(l)); err != nil {
					t.Fatal(err)
				}
				r.ack(l)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			checkStates(t, r.finish(), name)
			t.Log(r.count)
		})
	}
}

func TestCrashAppendConcurrent(t *testing.T) {
	forProfiles(t, "", testCrashAppendConcurrent)
}

func testCrashAppendConcurrent(t *testing.T, order vfs.DirOrder) {
	const name = "/app/events.jsonl"
	m := memUnder(order, map[string]string{name: base})
	r := record(m)
	vals, _ := scanAll(m, name)
	for _, l := range vals {
		r.ack(l)
	}
	// Two Files, as two processes would have, each with goroutines.
	var files [2]*jsonl.File
	for i := range files {
		f, err := jsonl.Open(name, &jsonl.Options{FS: m})
		if err != nil {
			t.Fatal(err)
		}
		files[i] = f
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 4 {
				l := line(fmt.Sprintf("g%d-%d", g, i), 7*g+i)
				if err := files[g%2].AppendRaw(context.Background(), []byte(l)); err != nil {
					t.Error(err)
					return
				}
				r.ack(l)
			}
		})
	}
	wg.Wait()
	for _, f := range files {
		f.Close()
	}
	checkStates(t, r.finish(), name)
	t.Log(r.count)
}

// Repairs crash too: crash at every step of the repair Open makes, open
// the crashed state again, and the torn bytes must be in an evidence file
// and the file repaired exactly as an uninterrupted repair would have.
func TestCrashRepair(t *testing.T) {
	const name = "/var/log.jsonl"
	total := 0
	for _, tc := range tornCases {
		if tc.cut == "" && !tc.terminated {
			continue
		}
		forProfiles(t, tc.name, func(t *testing.T, order vfs.DirOrder) {
			m := memUnder(order, map[string]string{name: tc.data})
			r := record(m)
			f, err := jsonl.Open(name, &jsonl.Options{FS: m})
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			states := r.finish()
			total += len(states)
			failures := 0
			for _, s := range states {
				err := func() error {
					f, err := jsonl.Open(name, &jsonl.Options{FS: s.fs})
					if err != nil {
						return fmt.Errorf("second Open: %v", err)
					}
					f.Close()
					if got := content(t, s.fs, name); got != tc.keep {
						return fmt.Errorf("after the second Open the file holds %q, want %q", got, tc.keep)
					}
					if tc.cut != "" && !hasEvidence(evidence(t, s.fs, name), tc.cut) {
						return fmt.Errorf("the torn bytes %q are in no evidence file: %q", tc.cut, evidence(t, s.fs, name))
					}
					if s.op == "returned" && content(t, s.fs, name) != tc.keep {
						return fmt.Errorf("the repair returned but did not survive")
					}
					return nil
				}()
				if err != nil {
					if failures++; failures <= 3 {
						t.Errorf("%v\n%v", err, s)
					}
				}
			}
			// A repair that returned is durable without help.
			after, _ := crashtest.States(m, crashBound)
			for _, st := range after {
				c := st.FS
				if got := content(t, c, name); got != tc.keep {
					t.Errorf("%v: the repair returned, but after a crash the file holds %q", st, got)
				}
				if tc.cut != "" && !hasEvidence(evidence(t, c, name), tc.cut) {
					t.Errorf("%v: the repair returned, but after a crash the evidence is gone", st)
				}
			}
		})
	}
	t.Logf("%d crash states checked", total)
}

// With durable.Cache nothing is fsynced, so a power cut may lose
// acknowledged lines, but it must never leave a file that does not open
// and parse.
func TestCrashAppendCache(t *testing.T) {
	forProfiles(t, "", testCrashAppendCache)
}

func testCrashAppendCache(t *testing.T, order vfs.DirOrder) {
	crashCacheAppends(t, order, 5, func(i int) int { return 40 * i })
}

// crashCacheAppends makes n appends with durable.Cache, the i-th padded
// with pad(i) bytes, and checks every crash state: only the lines synced
// before the appends count as acknowledged, since nothing after is synced.
func crashCacheAppends(t *testing.T, order vfs.DirOrder, n int, pad func(i int) int) {
	const name = "/cache.jsonl"
	m := memUnder(order, map[string]string{name: base})
	r := record(m)
	f, err := jsonl.Open(name, &jsonl.Options{FS: m, Durability: durable.Cache})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := f.Append(context.Background(), rec{ID: fmt.Sprint(i), Pad: strings.Repeat("c", pad(i))}); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	states := r.finish()
	// Only the lines synced before the test count as acknowledged here.
	vals, _ := scanAll(memWith(map[string]string{name: base}), name)
	for i := range states {
		states[i].acked = vals
	}
	checkStates(t, states, name)
	t.Log(r.count)
}

// forProfiles runs fn under each directory-ordering profile, as a subtest
// named after name (if any) and the profile.
func forProfiles(t *testing.T, name string, fn func(t *testing.T, order vfs.DirOrder)) {
	for _, order := range crashtest.Profiles() {
		sub := order.String()
		if name != "" {
			sub = name + "/" + sub
		}
		t.Run(sub, func(t *testing.T) { fn(t, order) })
	}
}

// memUnder is memWith under a directory-ordering profile.
func memUnder(order vfs.DirOrder, files map[string]string) *vfs.MemFS {
	m := memWith(files)
	m.SetCrashModel(vfs.CrashModel{Dirs: order})
	return m
}
