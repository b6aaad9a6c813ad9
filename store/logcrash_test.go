package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"
)

// Crash layers of log mode (issue 23). The invariant after any crash:
// Open returns a document equal to the result of some prefix of the
// updates, which includes every acknowledged one.
//
// The workload: a document with pending patches, then updates that each
// add one key ("u0", "u1", ...), with a compaction by size in between (a
// tiny LogCompactSize), then Compact and Close. Every update is one
// prefix step, so the document says how many updates it holds.

type logCrashDoc struct {
	Base int            `json:"base"`
	U    map[string]int `json:"u"`
}

const logCrashPath = "/d/state.json"

// logCrashBase is a filesystem holding a snapshot and two pending patches.
func logCrashBase(t *testing.T) *vfs.MemFS {
	t.Helper()
	m := vfs.NewMem()
	s, err := store.Open(logCrashPath, &store.Options[logCrashDoc]{FS: m, Log: true, LogCompactSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.Update(context.Background(), func(d *logCrashDoc) error { d.Base = i + 1; return nil }); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := s.Compact(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	m.SyncAll()
	return m
}

const logCrashUpdates = 6

// logCrashWork runs the workload on fsys and reports through acked how
// many updates were acknowledged so far (each as soon as it returns).
func logCrashWork(fsys vfs.FS, acked *int, errs *[]error) {
	s, err := store.Open(logCrashPath, &store.Options[logCrashDoc]{FS: fsys, Log: true, LogCompactSize: 400})
	if err != nil {
		*errs = append(*errs, err)
		return
	}
	for i := range logCrashUpdates {
		_, err := s.Update(context.Background(), func(d *logCrashDoc) error {
			if d.U == nil {
				d.U = map[string]int{}
			}
			d.U[fmt.Sprintf("u%d", i)] = i
			return nil
		})
		if err != nil {
			*errs = append(*errs, err)
			return // a prefix: stop at the first failure
		}
		*acked = i + 1
	}
	if err := s.Compact(context.Background()); err != nil {
		*errs = append(*errs, err)
	}
	if err := s.Close(); err != nil {
		*errs = append(*errs, err)
	}
}

// logCrashCheck opens fsys and checks the document is a prefix of at least
// acked updates; it returns how many it holds.
func logCrashCheck(fsys vfs.FS, acked int) (int, error) {
	s, err := store.Open(logCrashPath, &store.Options[logCrashDoc]{FS: fsys, Log: true})
	if err != nil {
		return 0, fmt.Errorf("Open: %w", err)
	}
	defer s.Close()
	d, _, err := s.Get()
	if err != nil {
		return 0, fmt.Errorf("Get: %w", err)
	}
	if d.Base != 3 {
		return 0, fmt.Errorf("base is %d, want 3 (acknowledged before the workload)", d.Base)
	}
	n := len(d.U)
	for i := range n {
		if v, ok := d.U[fmt.Sprintf("u%d", i)]; !ok || v != i {
			return 0, fmt.Errorf("the document %v is no prefix of the updates", d.U)
		}
	}
	if n < acked {
		return n, fmt.Errorf("the document holds %d updates, but %d were acknowledged", n, acked)
	}
	return n, nil
}

// TestLogCrashPoints crashes the workload after every filesystem call
// (opening and recovering the log, appends, compactions by size, Compact
// and Close) in every state the model allows, and after it returned.
func TestLogCrashPoints(t *testing.T) {
	m := logCrashBase(t)
	acked, states, failures := 0, 0, 0
	var errs []error
	check := func(what string, ack int) {
		for _, order := range crashtest.Profiles() {
			m.SetCrashModel(vfs.CrashModel{Dirs: order})
			sts, _ := crashtest.States(m, 16)
			for _, st := range sts {
				states++
				if _, err := logCrashCheck(st.FS, ack); err != nil {
					failures++
					if failures <= 3 {
						t.Errorf("crash at %s (%d acknowledged), %v, %v: %v", what, ack, st, order, err)
					}
				}
			}
		}
	}
	step := 0
	m.SetHook(func(op vfs.Op, name string) {
		step++
		check(fmt.Sprintf("step %d (%v %s)", step, op, name), acked)
	})
	logCrashWork(m, &acked, &errs)
	m.SetHook(nil)
	if len(errs) > 0 || acked != logCrashUpdates {
		t.Fatalf("the workload failed without a crash: %v", errs)
	}
	check("the end", acked)
	if failures > 0 {
		t.Errorf("%d of %d crash states break the invariant", failures, states)
	}
	t.Logf("%d steps, %d crash states checked", step, states)
}

// TestLogFaultEveryCall fails every call of the workload in turn (ENOSPC,
// EIO, a disk that stays full, a short write): every error surfaces
// wrapping its cause, the document then holds a prefix with every
// acknowledged update, and updates go on once the fault is gone.
func TestLogFaultEveryCall(t *testing.T) {
	base := logCrashBase(t)
	total, surfaced := 0, 0
	for _, kind := range []vfs.Op{vfs.OpOpen, vfs.OpRead, vfs.OpWrite, vfs.OpSync, vfs.OpClose, vfs.OpTruncate,
		vfs.OpStat, vfs.OpReadDir, vfs.OpRename, vfs.OpLink, vfs.OpRemove, vfs.OpMkdir, vfs.OpSyncDir} {
		probe := vfs.Inject(base.Crash(1), vfs.Fault{Ops: kind})
		var acked int
		var errs []error
		logCrashWork(probe, &acked, &errs)
		if len(errs) > 0 {
			t.Fatalf("without faults: %v", errs)
		}
		calls := probe.Count()
		stride := max(1, calls/60)
		for n := 1; n <= calls; n += stride {
			for _, fl := range crashtest.FaultsAt(kind, n) {
				total++
				m := base.Crash(1)
				acked, errs = 0, nil
				logCrashWork(vfs.Inject(m, fl.Fault), &acked, &errs)
				what := fmt.Sprintf("%v #%d, %s", kind, n, fl.Label)
				for _, err := range errs {
					if !errors.Is(err, fl.Want) {
						t.Errorf("%s: the error %v does not wrap %v", what, err, fl.Want)
					}
				}
				if len(errs) > 0 {
					surfaced++
				}
				got, err := logCrashCheck(m, acked)
				if err != nil {
					t.Errorf("%s: after the fault: %v", what, err)
					continue
				}
				// And on: one more update lands on top.
				s, err := store.Open(logCrashPath, &store.Options[logCrashDoc]{FS: m, Log: true})
				if err != nil {
					t.Errorf("%s: reopening: %v", what, err)
					continue
				}
				if _, err := s.Update(context.Background(), func(d *logCrashDoc) error { d.Base = 4; return nil }); err != nil {
					t.Errorf("%s: updating after the fault: %v", what, err)
				}
				if d, _, err := s.Get(); err != nil || d.Base != 4 || len(d.U) != got {
					t.Errorf("%s: after one more update: %+v, %v", what, d, err)
				}
				s.Close()
			}
		}
	}
	if surfaced == 0 {
		t.Fatal("no fault surfaced: the injector never hit the workload")
	}
	t.Logf("%d faults injected, %d surfaced as errors", total, surfaced)
}
