package journal

import (
	"errors"
	"fmt"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/vfs"
)

// Error injection: fail every call a workload makes (open, append across a
// segment rotation, a batch, a checkpoint, a drop), one at a time, with
// ENOSPC, EIO, a sticky ENOSPC and a short write. Every error must surface
// wrapping its cause, every acknowledged record must be intact, the log
// must open and verify afterwards, and appends must go on.

type faultRun struct {
	acked     []string
	attempted map[string]bool
	errs      []error
}

func faultWorkload(fsys vfs.FS, signer note.Signer, o Options) faultRun {
	r := faultRun{attempted: map[string]bool{}}
	o.FS = fsys
	j, err := Open("/j", &o)
	if err != nil {
		r.errs = append(r.errs, err)
		return r
	}
	for k := 100; k < 124; k++ {
		if k == 112 {
			b := [][]byte{payload(k), payload(k + 1000), payload(k + 2000)}
			for _, p := range b {
				r.attempted[string(p)] = true
			}
			if _, err := j.AppendBatch(bg, b); err != nil {
				r.errs = append(r.errs, err)
			} else {
				for _, p := range b {
					r.acked = append(r.acked, string(p))
				}
			}
			continue
		}
		p := payload(k)
		r.attempted[string(p)] = true
		if _, err := j.Append(bg, p); err != nil {
			r.errs = append(r.errs, err)
		} else {
			r.acked = append(r.acked, string(p))
		}
	}
	if _, err := j.Checkpoint(bg, signer); err != nil {
		r.errs = append(r.errs, err)
	}
	if _, err := j.DropBefore(bg, 12); err != nil {
		r.errs = append(r.errs, err)
	}
	if err := j.Close(); err != nil {
		r.errs = append(r.errs, err)
	}
	return r
}

func faultBase(t *testing.T) (*vfs.MemFS, []string) {
	m := vfs.NewMem()
	j := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 4096})
	var initial []string
	for k := range 10 {
		if _, err := j.Append(bg, payload(k)); err != nil {
			t.Fatal(err)
		}
		initial = append(initial, string(payload(k)))
	}
	j.Close()
	m.SyncAll()
	return m, initial
}

func TestFaultEveryCall(t *testing.T) {
	kinds := []vfs.Op{vfs.OpOpen, vfs.OpRead, vfs.OpWrite, vfs.OpSync, vfs.OpClose, vfs.OpTruncate,
		vfs.OpStat, vfs.OpReadDir, vfs.OpRename, vfs.OpRemove, vfs.OpMkdir, vfs.OpSyncDir}
	faultEveryCall(t, kinds, Options{SegmentSize: 4096})
}

// The same with segments allocated in steps: the extensions (an
// allocation, which the model does with Truncate, and a full fsync) fail
// in turn too.
func TestFaultEveryCallGrowing(t *testing.T) {
	kinds := []vfs.Op{vfs.OpWrite, vfs.OpSync, vfs.OpTruncate, vfs.OpStat}
	faultEveryCall(t, kinds, Options{SegmentSize: 8192, firstAlloc: 4096})
}

func faultEveryCall(t *testing.T, kinds []vfs.Op, o Options) {
	base, initial := faultBase(t)
	signer, _ := testKey(t, "audit")
	total, surfaced := 0, 0
	for _, kind := range kinds {
		probe := vfs.Inject(base.Crash(1), vfs.Fault{Ops: kind})
		if r := faultWorkload(probe, signer, o); len(r.errs) > 0 {
			t.Fatalf("without faults: %v", r.errs)
		}
		calls := probe.Count()
		// Every call for the cheap kinds; a spread of them for reads.
		stride := 1
		if calls > 150 {
			stride = calls / 150
		}
		for n := 1; n <= calls; n += stride {
			for _, fl := range crashtest.FaultsAt(kind, n) {
				total++
				m := base.Crash(1)
				inj := vfs.Inject(m, fl.Fault)
				r := faultWorkload(inj, signer, o)
				where := fmt.Sprintf("%s on %v call %d", fl.Label, kind, n)
				if inj.Fired() == 0 {
					t.Fatalf("%s: the fault never fired", where)
				}
				for _, err := range r.errs {
					if !errors.Is(err, fl.Want) {
						t.Errorf("%s: error %v does not wrap %v", where, err, fl.Want)
					}
				}
				if len(r.errs) > 0 {
					surfaced++
				}
				checkAfterFault(t, where, m, initial, r)
				if t.Failed() {
					t.FailNow()
				}
			}
		}
	}
	t.Logf("%d injected faults checked, %d surfaced as errors (the others hit calls whose failure changes nothing)", total, surfaced)
}

func checkAfterFault(t *testing.T, where string, m *vfs.MemFS, initial []string, r faultRun) {
	t.Helper()
	// Also after a power cut that loses everything unsynced.
	for _, fsys := range []*vfs.MemFS{m, m.Crash(0)} {
		data, _, j, err := readAll(fsys, "/j", nil)
		if err != nil {
			t.Errorf("%s: the journal does not open afterwards: %v", where, err)
			return
		}
		// Records dropped by DropBefore are gone from the front; what is
		// left is a suffix of initial + appended.
		want := slices.Concat(initial, r.acked)
		pos := 0
		for _, p := range data {
			if !r.attempted[p] && !slices.Contains(initial, p) {
				t.Errorf("%s: a record that was never appended: %.30q", where, p)
				j.Close()
				return
			}
		}
		for _, p := range want {
			i := slices.Index(data[pos:], p)
			if i < 0 {
				if slices.Contains(initial, p) && len(data) > 0 && !slices.Contains(data, initial[0]) {
					continue // dropped
				}
				t.Errorf("%s: acknowledged record %.20q is missing or out of order\n%s", where, p, fsys.Dump())
				j.Close()
				return
			}
			pos += i + 1
		}
		if _, err := j.Append(bg, []byte("after the fault")); err != nil {
			t.Errorf("%s: append after reopening: %v", where, err)
		}
		j.Close()
		if rep, err := Verify(bg, "/j", &VerifyOptions{FS: fsys}); err != nil || rep.Torn != nil {
			t.Errorf("%s: Verify after recovery: %v %+v", where, err, rep)
		}
	}
}

// After a failed append the same handle goes on appending, and never after
// garbage.
func TestAppendContinuesAfterAFailure(t *testing.T) {
	m := vfs.NewMem()
	inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpSync, N: 3, Err: syscall.EIO})
	j := mustOpen(t, "/j", &Options{FS: inj, SegmentSize: 4096})
	var acked []string
	failed := 0
	for k := range 10 {
		if _, err := j.Append(bg, payload(k)); err != nil {
			if !errors.Is(err, syscall.EIO) {
				t.Fatal(err)
			}
			failed++
			continue
		}
		acked = append(acked, string(payload(k)))
	}
	j.Close()
	if failed != 1 {
		t.Fatalf("%d appends failed, want 1", failed)
	}
	data, _, j2, err := readAll(m, "/j", nil)
	if err != nil {
		t.Fatal(err)
	}
	j2.Close()
	if !slices.Equal(data, acked) {
		t.Fatalf("records %d, acked %d: the failed record must not be there", len(data), len(acked))
	}
}
