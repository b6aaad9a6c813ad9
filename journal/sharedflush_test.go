package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// gateFS calls before ahead of every flush of a file it opened, so that a
// test can hold one handle's flush while other handles write.
type gateFS struct {
	vfs.FS
	before func()
}

func (g gateFS) Unwrap() vfs.FS { return g.FS }

func (g gateFS) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := g.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return gateFile{f, g.before}, nil
}

type gateFile struct {
	vfs.File
	before func()
}

func (f gateFile) Sync() error {
	f.before()
	return f.File.Sync()
}

func (f gateFile) Datasync() error {
	f.before()
	return vfs.Datasync(f.File)
}

// flagged returns, for each commit frame of the segment at base, whether
// it says it follows an unflushed batch.
func flagged(t *testing.T, m vfs.FS, base uint64) []bool {
	t.Helper()
	seg, err := openSegment(m, "/j", base, false)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.close()
	s := &scanner{seg: seg, fr: newFrameReader(seg.f, seg.size), off: seg.hdr.length, next: base}
	var out []bool
	for pos := s.off; pos < seg.size; {
		f, err := s.frameAt(pos)
		if err != nil {
			break
		}
		if f.typ == typeCommit {
			out = append(out, decodeCommit(f.body).flags&commitAfterUnflushed != 0)
		}
		pos += f.size()
	}
	return out
}

// sharedRound runs the round the shared flush is for, on three handles
// (three processes): a's flush is held while b and c write; once it is let
// go, one flush covers b's and c's batches, whichever of them flushes
// first, and the other finds its batch covered. It returns the flushes b
// and c made, and the payloads appended (all acknowledged).
func sharedRound(t *testing.T, m *vfs.MemFS, ack func(...string)) (flushes int, appended []string) {
	t.Helper()
	var hold sync.Mutex
	holding := false
	flushing := make(chan struct{}, 1)
	release := make(chan struct{})
	gate := gateFS{FS: m, before: func() {
		hold.Lock()
		h := holding
		holding = false
		hold.Unlock()
		if h {
			flushing <- struct{}{}
			<-release
		}
	}}
	opts := func(fsys vfs.FS) *Options { return &Options{FS: fsys, SegmentSize: 64 << 10} }
	a := mustOpen(t, "/j", opts(gate))
	defer a.Close()
	pb := vfs.Inject(m, vfs.Fault{Ops: vfs.OpSync})
	b := mustOpen(t, "/j", opts(pb))
	defer b.Close()
	pc := vfs.Inject(m, vfs.Fault{Ops: vfs.OpSync})
	c := mustOpen(t, "/j", opts(pc))
	defer c.Close()
	k := 1000
	appendTo := func(j *Journal) error {
		p := payload(k)
		k++
		appended = append(appended, string(p))
		_, err := j.Append(bg, p)
		if err == nil {
			ack(string(p))
		}
		return err
	}
	// Each sees the others' batches when it next appends: they share.
	for _, j := range []*Journal{a, b, c} {
		if err := appendTo(j); err != nil {
			t.Fatal(err)
		}
	}
	total := c.Size() // c wrote last
	hold.Lock()
	holding = true
	hold.Unlock()
	errs := make(chan error, 3)
	pa := payload(k)
	k++
	appended = append(appended, string(pa))
	go func() {
		_, err := a.Append(bg, pa)
		if err == nil {
			ack(string(pa))
		}
		errs <- err
	}()
	select {
	case <-flushing:
	case err := <-errs:
		t.Fatalf("a's append returned (%v) without flushing its batch", err)
	case <-time.After(10 * time.Second):
		t.Fatal("a's append did not flush its batch")
	}
	before := pb.Count() + pc.Count()
	pbp, pcp := payload(k), payload(k+1)
	k += 2
	appended = append(appended, string(pbp), string(pcp))
	for _, x := range []struct {
		j *Journal
		p []byte
	}{{b, pbp}, {c, pcp}} {
		go func() {
			_, err := x.j.Append(bg, x.p)
			if err == nil {
				ack(string(x.p))
			}
			errs <- err
		}()
	}
	// b and c have written once both sizes count a's and their own
	// records, and one of them counts all three.
	deadline := time.Now().Add(10 * time.Second)
	for min(b.Size(), c.Size()) < total+2 || max(b.Size(), c.Size()) < total+3 {
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("b and c did not write while a flushed: sizes %d, %d", b.Size(), c.Size())
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return pb.Count() + pc.Count() - before, appended
}

// The batches that processes write while another process flushes are
// flushed alongside that flush, one flush each, without waiting for its
// lock (TestSharedFlushAlongside), and the batches written while earlier
// ones were not known to be flushed say so in their commit frames.
func TestSharedFlushCoversOthers(t *testing.T) {
	m := vfs.NewMem()
	withLockFile(t, m)
	n, appended := sharedRound(t, m, func(...string) {})
	if n != 2 {
		t.Errorf("b and c made %d flushes for their batches written during a's flush, want 2 (one each, alongside it)", n)
	}
	got := flagged(t, m, 0)
	// a, b, c take turns (each flushed before the next), then a's batch
	// (after c's flushed one), b's and c's during a's flush.
	want := []bool{false, false, false, false, true, true}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("commit frames flagged %v, want %v", got, want)
	}
	data, _, j, err := readAll(m.Crash(0), "/j", nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if len(data) != len(appended) {
		t.Errorf("after a crash that keeps only what was flushed: %d records, want %d", len(data), len(appended))
	}
}

// The round above, crashed at every step in every way: no acknowledged
// record is lost, recovery keeps no record whose predecessor it lost, and
// the log verifies clean.
func TestCrashSharedFlush(t *testing.T) {
	m := vfs.NewMem()
	withLockFile(t, m)
	r := newRecorder(m, crashSeeds)
	_, appended := sharedRound(t, m, r.ack)
	attempted := map[string]bool{}
	for _, p := range appended {
		attempted[p] = true
	}
	states, recovered := checkStates(t, r, attempted, false)
	t.Logf("%d crash states, %d cut a torn tail", states, recovered)
}

// Four handles (processes) of three goroutines each, with segments small
// enough to rotate: every crash state keeps every acknowledged record.
func TestCrashSharedFlushProcesses(t *testing.T) {
	m := vfs.NewMem()
	withLockFile(t, m)
	r := newRecorder(m, 4)
	var mu sync.Mutex
	attempted := map[string]bool{}
	var wg sync.WaitGroup
	for h := range 4 {
		j := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 8192})
		defer j.Close()
		for g := range 3 {
			wg.Go(func() {
				for k := range 8 {
					p := payload(h*1000 + g*100 + k)
					if k%3 == 1 {
						p = append(p, bytes.Repeat([]byte{'s'}, 700)...)
					}
					mu.Lock()
					attempted[string(p)] = true
					mu.Unlock()
					if _, err := j.Append(bg, p); err != nil {
						t.Error(err)
						return
					}
					r.ack(string(p))
				}
			})
		}
	}
	wg.Wait()
	states, recovered := checkStates(t, r, attempted, false)
	segs, _ := listSegments(m, "/j")
	t.Logf("%d crash states, %d cut a torn tail, %d segments", states, recovered, len(segs))
}

// sharedFaultWorkload appends through two handles in turn, so that every
// append of the faulty one (on fsys) shares its flush with the clean one.
func sharedFaultWorkload(fsys vfs.FS, m *vfs.MemFS) faultRun {
	r := faultRun{attempted: map[string]bool{}}
	a, err := Open("/j", &Options{FS: fsys, SegmentSize: 4096})
	if err != nil {
		r.errs = append(r.errs, err)
		return r
	}
	b, err := Open("/j", &Options{FS: m, SegmentSize: 4096})
	if err != nil {
		panic(err)
	}
	for k := 100; k < 130; k++ {
		p := payload(k)
		r.attempted[string(p)] = true
		if k%2 == 1 {
			if _, err := b.Append(bg, p); err != nil {
				panic(err) // b's calls do not fail
			}
			r.acked = append(r.acked, string(p))
			continue
		}
		if _, err := a.Append(bg, p); err != nil {
			r.errs = append(r.errs, err)
		} else {
			r.acked = append(r.acked, string(p))
		}
	}
	b.Close()
	if err := a.Close(); err != nil {
		r.errs = append(r.errs, err)
	}
	return r
}

// Every call of a writer that shares its flushes fails in turn: the error
// wraps its cause, the other writer goes on, and every acknowledged
// record survives, also a power cut after it.
func TestFaultSharedFlush(t *testing.T) {
	total, surfaced := faultEachCall(t, sharedFaultWorkload)
	t.Logf("%d injected faults checked, %d surfaced as errors", total, surfaced)
}

// faultEachCall runs workload on a journal of ten records once per call
// it makes of each kind (sampled to about 150 a kind), failing that call
// in each way crashtest.FaultsAt lists: every error must wrap the
// injected one, and checkAfterFault must hold after it. It returns how
// many faults ran and how many surfaced as errors.
func faultEachCall(t *testing.T, workload func(fsys vfs.FS, m *vfs.MemFS) faultRun) (total, surfaced int) {
	t.Helper()
	base := vfs.NewMem()
	withLockFile(t, base)
	j := mustOpen(t, "/j", &Options{FS: base, SegmentSize: 4096})
	var initial []string
	for k := range 10 {
		if _, err := j.Append(bg, payload(k)); err != nil {
			t.Fatal(err)
		}
		initial = append(initial, string(payload(k)))
	}
	j.Close()
	base.SyncAll()
	for _, kind := range []vfs.Op{vfs.OpWrite, vfs.OpSync, vfs.OpRead, vfs.OpTruncate, vfs.OpStat} {
		m := base.Crash(1)
		probe := vfs.Inject(m, vfs.Fault{Ops: kind})
		if r := workload(probe, m); len(r.errs) > 0 {
			t.Fatalf("without faults: %v", r.errs)
		}
		calls := probe.Count()
		stride := max(1, calls/150)
		for n := 1; n <= calls; n += stride {
			for _, fl := range crashtest.FaultsAt(kind, n) {
				total++
				m := base.Crash(1)
				inj := vfs.Inject(m, fl.Fault)
				r := workload(inj, m)
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
	if surfaced == 0 {
		t.Fatal("no fault surfaced")
	}
	return total, surfaced
}

// An operation under the lock (a Tx, a checkpoint) relies on what its
// catch-up found: records that an append left for a shared flush that did
// not run (its write or its lock wait failed) are flushed first.
func TestOperationFlushesWhatAppendLeft(t *testing.T) {
	m := vfs.NewMem()
	withLockFile(t, m)
	probe := vfs.Inject(m, vfs.Fault{Ops: vfs.OpSync})
	a := mustOpen(t, "/j", &Options{FS: probe, SegmentSize: 64 << 10})
	defer a.Close()
	if _, err := a.Append(bg, payload(0)); err != nil {
		t.Fatal(err)
	}
	a.behind = true // as a failed shared append leaves it
	before := probe.Count()
	if err := a.WithLock(bg, func(tx *Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := probe.Count() - before; n != 1 || a.behind {
		t.Errorf("WithLock after records left unflushed: %d flushes (want 1), behind %v", n, a.behind)
	}
}

// A cut moves the log's end back: recovery clears the marks first, also
// at Open, before any append opened them, so that no mark names a place
// past the cut.
func TestCutClearsMarks(t *testing.T) {
	m := vfs.NewMem()
	withLockFile(t, m)
	a := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 64 << 10})
	b := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 64 << 10})
	appendInTurns(t, a, b, 4)
	if _, _, ok := a.readMark(flushMarkAt); !ok {
		t.Fatal("no flush mark after writers took turns")
	}
	start, end := b.seg.hdr.length, b.end
	// As if the damage came after a flush past it was marked.
	b.writeMark(flushMarkAt, 0, end+4096)
	b.writeMark(writtenMarkAt, 0, end+4096)
	a.Close()
	b.Close()
	// A torn tail: the first record's first 40 bytes, then zeros.
	f, err := m.OpenFile("/j/"+segName(0), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 40)
	f.ReadAt(head, start)
	f.WriteAt(head, end)
	f.Close()
	c, notes := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 64 << 10}), 0
	defer c.Close()
	for r, err := range c.Scan(0) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Type == TypeNote {
			notes++
		}
	}
	if notes != 1 {
		t.Fatalf("%d notes, want 1 (the cut)", notes)
	}
	c.openMark()
	// The note's flush may have marked its own end since.
	if base, e, ok := c.readMark(flushMarkAt); ok && (base != 0 || e > c.end) {
		t.Errorf("the flush mark names offset %d of segment %d, past the log's end %d", e, base, c.end)
	}
	if _, _, ok := c.readMark(writtenMarkAt); ok {
		t.Error("the written mark survived the cut")
	}
}

// A writer that finds the flush lock held (another process flushes, and
// that flush may have begun before this batch was written) flushes its
// batch alongside, without the lock: its append returns once its own
// flush has, without waiting for the lock, and the batch survives a crash
// that keeps only what was flushed. It records no flush mark (only a
// holder of the flush lock may: clearMarks). A failure of that flush fails
// the append and every later write, as a failed shared flush does.
func TestSharedFlushAlongside(t *testing.T) {
	run := func(failAt int) (m *vfs.MemFS, before, syncs int, appendErr, laterErr error) {
		m = vfs.NewMem()
		withLockFile(t, m)
		opts := func(fsys vfs.FS) *Options { return &Options{FS: fsys, SegmentSize: 64 << 10} }
		a := mustOpen(t, "/j", opts(m))
		defer a.Close()
		probe := vfs.Inject(m, vfs.Fault{Ops: vfs.OpSync, N: failAt})
		b := mustOpen(t, "/j", opts(probe))
		defer b.Close()
		appendInTurns(t, a, b, 4)
		held, err := lock.New(m, "/j/"+flushLockName).Lock(bg)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Unlock()
		flushMark, _, _ := a.readMark(flushMarkAt)
		// a appends after b: b's next batch shares its flush.
		if _, err := a.Append(bg, payload(10)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(bg, 10*time.Second) // a wait for the lock would end here
		defer cancel()
		before = probe.Count()
		_, appendErr = b.Append(ctx, payload(11))
		syncs = probe.Count() - before
		if again, _, _ := a.readMark(flushMarkAt); again != flushMark {
			t.Errorf("a flush alongside moved the flush mark from %d to %d", flushMark, again)
		}
		_, laterErr = b.Append(ctx, payload(12))
		return m, before, syncs, appendErr, laterErr
	}
	m, before, syncs, err, later := run(0)
	if err != nil || later != nil || syncs != 1 {
		t.Fatalf("append with the flush lock held: %v (then %v), %d flushes; want nil, 1", err, later, syncs)
	}
	data, _, j, err := readAll(m.Crash(0), "/j", nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if !slices.Contains(data, string(payload(11))) {
		t.Errorf("the batch flushed alongside is lost in a crash: %d records", len(data))
	}
	_, _, _, err, later = run(before + 1)
	if !errors.Is(err, syscall.EIO) || later == nil {
		t.Fatalf("a failed flush alongside: append %v, the next %v; want EIO, then an error", err, later)
	}
}
