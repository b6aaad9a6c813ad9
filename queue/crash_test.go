package queue

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// Crash-point enumeration: run the workload (push, batch push, pop, ack,
// nack, lease expiry, extend, dead letters, retry, purge, compaction with
// segment drops) on the in-memory model, crash after every mutating call
// in several ways (seed 0 loses everything unsynced, 1 keeps everything,
// the others tear, zero and drop at random), and check every state: the
// queue opens, no acknowledged message is live again, every acknowledged
// push not since (maybe) acknowledged is live, nothing is live twice.

type crashState struct {
	step int
	op   string
	seed uint64
	fs   *vfs.MemFS
	l    *ledger
}

func (s crashState) String() string {
	return fmt.Sprintf("crash after step %d (%s), seed %d", s.step, s.op, s.seed)
}

func TestCrashEveryStep(t *testing.T) {
	seeds := uint64(4)
	m := vfs.NewMem()
	l := newLedger()
	var mu sync.Mutex
	var states []crashState
	step := 0
	m.SetHook(func(op vfs.Op, name string) {
		mu.Lock()
		step++
		s := step
		mu.Unlock()
		snap := l.snapshot()
		for k := range seeds {
			seed := k
			if k >= 2 {
				seed = uint64(s)*7919 + k*104729
			}
			st := crashState{step: s, op: fmt.Sprintf("%v %s", op, name), seed: seed, fs: m.Crash(seed), l: snap}
			mu.Lock()
			states = append(states, st)
			mu.Unlock()
		}
	})
	if err := workload(m, l, newClock(), 40); err != nil {
		t.Fatal(err)
	}
	m.SetHook(nil)
	for k := range seeds {
		states = append(states, crashState{step: step, op: "returned", seed: k, fs: m.Crash(k), l: l.snapshot()})
	}
	for _, s := range states {
		live, err := drain(s.fs, "/q")
		if err != nil {
			t.Fatalf("%v: reopen: %v", s, err)
		}
		if err := checkLive(live, s.l); err != nil {
			t.Fatalf("%v: %v", s, err)
		}
	}
	t.Logf("%d crash states checked over %d steps", len(states), step)
}

// Fault injection: fail each call of the workload in turn (ENOSPC, EIO,
// sticky ENOSPC, short write). The error surfaces wrapping its cause, and
// the invariant holds in the files left, and after a power cut.
func TestFaultEveryCall(t *testing.T) {
	kinds := []vfs.Op{vfs.OpOpen, vfs.OpRead, vfs.OpWrite, vfs.OpSync, vfs.OpTruncate,
		vfs.OpStat, vfs.OpReadDir, vfs.OpRemove, vfs.OpMkdir, vfs.OpSyncDir}
	total, surfaced := 0, 0
	for _, kind := range kinds {
		probe := vfs.Inject(vfs.NewMem(), vfs.Fault{Ops: kind})
		if err := workload(probe, newLedger(), newClock(), 25); err != nil {
			t.Fatalf("without faults: %v", err)
		}
		calls := probe.Count()
		stride := max(1, calls/60)
		if raceOn {
			stride = max(1, calls/15)
		}
		for n := 1; n <= calls; n += stride {
			faults := []struct {
				label string
				f     vfs.Fault
				want  error
			}{
				{"ENOSPC", vfs.Fault{Ops: kind, N: n, Err: syscall.ENOSPC}, syscall.ENOSPC},
				{"sticky EIO", vfs.Fault{Ops: kind, N: n, Err: syscall.EIO, Sticky: true}, syscall.EIO},
			}
			if kind == vfs.OpWrite {
				faults = append(faults, struct {
					label string
					f     vfs.Fault
					want  error
				}{"short write", vfs.Fault{Ops: kind, N: n, Short: true}, io.ErrShortWrite})
			}
			for _, fl := range faults {
				total++
				m := vfs.NewMem()
				inj := vfs.Inject(m, fl.f)
				l := newLedger()
				err := workload(inj, l, newClock(), 25)
				where := fmt.Sprintf("%s on %v call %d", fl.label, kind, n)
				if err != nil {
					surfaced++
					if !errors.Is(err, fl.want) {
						t.Errorf("%s: error %v does not wrap %v", where, err, fl.want)
					}
				}
				for i, fsys := range []*vfs.MemFS{m, m.Crash(0)} {
					live, err := drain(fsys, "/q")
					if err != nil {
						t.Fatalf("%s (power cut %v): reopen: %v", where, i == 1, err)
					}
					if err := checkLive(live, l); err != nil {
						t.Fatalf("%s (power cut %v): %v", where, i == 1, err)
					}
				}
			}
		}
	}
	t.Logf("%d faults injected, %d surfaced as errors", total, surfaced)
}
