package store_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"
)

// On the OS an update's backup rotation runs on a goroutine while the new
// version is written and fsynced, and only the rename waits for it
// (startRotate): the rotation's link, renames and directory fsyncs may
// come before, between or after the temp file's create, write and fsync,
// in any mix. TestCrashRotateInterleaved runs the rotation's steps at
// every such place, one schedule at a time, and checks every crash state
// of each as TestCrashUpdateRotatesBackups does.

// interleaver runs a rotation's steps between the calls that write the
// new version, where pos says: step i runs once the write has made pos[i]
// changes (0: before the temp file is created), or, if pos[i] is more
// than the changes the write makes before its rename, in the wait that
// the rename calls (the last place the rotation may finish).
type interleaver struct {
	pos     []int
	steps   []func() error
	next    int // steps run so far
	seen    int // the write's changes since the rotation started
	running bool
	err     error
	started int // how many rotations were interleaved
}

func (iv *interleaver) start(steps []func() error) func() error {
	iv.started++
	if len(steps) != len(iv.pos) {
		iv.err = fmt.Errorf("the rotation has %d steps, the schedule %d", len(steps), len(iv.pos))
		return func() error { return iv.err }
	}
	iv.steps, iv.next, iv.seen = steps, 0, 0
	iv.runTo(0)
	return func() error {
		iv.runTo(math.MaxInt)
		iv.steps = nil
		return iv.err
	}
}

// changed is called after every change the filesystem reports; those the
// rotation's own steps make are not the write's.
func (iv *interleaver) changed() {
	if iv.steps == nil || iv.running {
		return
	}
	iv.seen++
	iv.runTo(iv.seen)
}

// runTo runs the steps due once the write has made k changes; none after
// one that failed, as runSteps in the store.
func (iv *interleaver) runTo(k int) {
	iv.running = true
	defer func() { iv.running = false }()
	for iv.next < len(iv.steps) && iv.pos[iv.next] <= k {
		if iv.err == nil {
			iv.err = iv.steps[iv.next]()
		}
		iv.next++
	}
}

// schedules returns every non-decreasing assignment of n steps to places
// 0 to last, the first step (the rotation's check, which changes nothing)
// always at 0.
func schedules(n, last int) [][]int {
	var out [][]int
	var walk func(pos []int)
	walk = func(pos []int) {
		if len(pos) == n {
			out = append(out, append([]int(nil), pos...))
			return
		}
		for p := pos[len(pos)-1]; p <= last; p++ {
			walk(append(pos, p))
		}
	}
	walk([]int{0})
	return out
}

func TestCrashRotateInterleaved(t *testing.T) {
	for _, run := range vfs.DirOrders() {
		profiles := crashtest.Profiles()
		if run == vfs.DirsOrdered {
			profiles = []vfs.DirOrder{vfs.DirsOrdered}
		}
		for _, backups := range []int{1, 2} {
			// The rotation's steps: the check, then for each older
			// backup a rename and its directory fsync, then the link
			// as bak.1 and its directory fsync.
			steps := 1 + 2*(backups-1) + 2
			writes := writeChanges(t, backups)
			all := schedules(steps, writes+1)
			if testing.Short() && len(all) > 12 {
				all = all[:12]
			}
			for _, pos := range all {
				t.Run(fmt.Sprintf("%v/backups=%d/at=%v", run, backups, pos), func(t *testing.T) {
					testCrashRotate(t, backups, run, profiles, &interleaver{pos: pos})
				})
			}
		}
	}
}

// writeChanges counts the changes the write of the new version makes
// before its rename: the places a rotation step may run between.
func writeChanges(t *testing.T, backups int) int {
	t.Helper()
	const name = "/app/config.json"
	m := memWith(t, map[string]string{name: version(t, 2), name + ".bak.1": version(t, 1)})
	s := open(t, name, &store.Options[Config]{FS: m, Backups: backups})
	n, counting := 0, false
	store.Interleave(s, func(steps []func() error) func() error {
		counting = true
		return func() error {
			counting = false
			for _, step := range steps {
				if err := step(); err != nil {
					return err
				}
			}
			return nil
		}
	})
	m.SetHook(func(vfs.Op, string) {
		if counting {
			n++
		}
	})
	defer m.SetHook(nil)
	if _, err := s.Update(ctx, func(c *Config) error { c.Name = "v3"; return nil }); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the write made no change before its rename")
	}
	return n
}
