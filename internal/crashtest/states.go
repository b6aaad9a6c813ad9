package crashtest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// The model side of the harness: the crash-point tests of every package
// crash a vfs.MemFS after each step of an operation (recovery included) and
// check the invariant in each resulting state. States gives those states:
// all of them, enumerated, when a step leaves few (as CrashMonkey and B3
// do for small workloads), otherwise a sample of seeds.

// Profiles returns the directory-ordering profiles every package's crash
// tests run under.
func Profiles() []vfs.DirOrder { return vfs.DirOrders() }

// State is one crashed filesystem, with how it was made.
type State struct {
	FS *vfs.MemFS
	// Seed is the seed that gave it when sampled; -1 when enumerated.
	Seed int64
	// Index is its place among the states of its step.
	Index int
}

func (s State) String() string {
	if s.Seed >= 0 {
		return fmt.Sprintf("sampled seed %d", s.Seed)
	}
	return fmt.Sprintf("enumerated state %d", s.Index)
}

// States returns the states a power cut could leave m in now, under m's
// crash model. When there are at most bound of them it returns every one
// (enumerated is true); otherwise those of seeds 0 to bound-1, seed 0
// losing everything unsynced and seed 1 keeping everything.
func States(m *vfs.MemFS, bound int) (states []State, enumerated bool) {
	_, all := m.CrashStates(bound, func(c *vfs.MemFS) bool {
		states = append(states, State{FS: c, Seed: -1, Index: len(states)})
		return true
	})
	if all {
		return states, true
	}
	states = states[:0]
	for seed := range bound {
		states = append(states, State{FS: m.Crash(uint64(seed)), Seed: int64(seed), Index: seed})
	}
	return states, false
}

// Under returns a new empty MemFS with the given directory-ordering
// profile, for a test that runs under each of Profiles.
func Under(order vfs.DirOrder) *vfs.MemFS {
	m := vfs.NewMem()
	m.SetCrashModel(vfs.CrashModel{Dirs: order})
	return m
}

// StateCount counts the states a test checked, enumerated and sampled, for its
// log: CI's output shows how many crash states each test covers.
type StateCount struct{ Enumerated, Sampled int }

// Add counts the states of one step.
func (t *StateCount) Add(states []State, enumerated bool) {
	if enumerated {
		t.Enumerated += len(states)
	} else {
		t.Sampled += len(states)
	}
}

func (t StateCount) String() string {
	return fmt.Sprintf("%d crash states (%d enumerated, %d sampled)", t.Enumerated+t.Sampled, t.Enumerated, t.Sampled)
}

// MemWith returns a crash model holding files (name: content), each with
// mode perm, in directories made on the way, all of it durable: the state
// a crash test starts from.
func MemWith(files map[string]string, perm fs.FileMode) *vfs.MemFS {
	m := vfs.NewMem()
	for name, data := range files {
		mkdirAll(m, path.Dir(name))
		if err := vfs.WriteFile(m, name, []byte(data), perm); err != nil {
			panic(err)
		}
	}
	m.SyncAll()
	return m
}

func mkdirAll(fsys vfs.FS, dir string) {
	if dir == "/" || dir == "." {
		return
	}
	mkdirAll(fsys, path.Dir(dir))
	if err := fsys.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		panic(err)
	}
}

// Content returns the content of name on fsys, or "<absent>" when it does
// not exist; any other error fails t.
func Content(t testing.TB, fsys vfs.FS, name string) string {
	t.Helper()
	b, err := vfs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return "<absent>"
	}
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}
