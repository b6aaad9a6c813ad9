package journal

import (
	"bytes"
	"runtime"
	"sync"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// Four handles (processes) of three goroutines each, through
// WithLockShared: one batch, two batches, or none (a reader), with
// segments small enough to rotate. Every crash state keeps every
// acknowledged record, and every record a WithLockShared read before it
// returned: what it decided on cannot be taken back.
func TestCrashWithLockShared(t *testing.T) {
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
				for k := range 6 {
					var batches [][]byte
					switch (g + k) % 3 {
					case 0:
						batches = [][]byte{payload(h*1000 + g*100 + k)}
					case 1:
						p := append(payload(h*1000+g*100+k), bytes.Repeat([]byte{'s'}, 700)...)
						batches = [][]byte{p, payload(h*1000 + g*100 + 50 + k)}
					}
					mu.Lock()
					for _, p := range batches {
						attempted[string(p)] = true
					}
					mu.Unlock()
					var seen []string
					err := j.WithLockShared(bg, func(tx *Tx) error {
						if len(batches) == 0 {
							for rec, err := range j.Scan(0) {
								if err != nil {
									return err
								}
								if rec.Index >= tx.Size() {
									break
								}
								if rec.Type == TypeData {
									seen = append(seen, string(rec.Payload))
								}
							}
						}
						for _, p := range batches {
							if _, err := tx.AppendFlushed([][]byte{p}); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						t.Error(err)
						return
					}
					for _, p := range batches {
						r.ack(string(p))
					}
					r.ack(seen...)
				}
			})
		}
	}
	wg.Wait()
	states, recovered := checkStates(t, r, attempted, false)
	segs, _ := listSegments(m, "/j")
	t.Logf("%d crash states, %d cut a torn tail, %d segments", states, recovered, len(segs))
}

// Handles that take turns through WithLockShared leave the flush after
// the lock: the batches written while others' were not known flushed say
// so, and a crash that keeps only what was flushed keeps them all.
func TestWithLockSharedDefers(t *testing.T) {
	m := vfs.NewMem()
	withLockFile(t, m)
	a, b := twoHandles(t, m, 64<<10)
	for k := range 6 {
		j := a
		if k%2 == 1 {
			j = b
		}
		if err := j.WithLockShared(bg, func(tx *Tx) error {
			_, err := tx.AppendFlushed([][]byte{payload(k)})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if j.unflushed || j.behind {
			t.Fatalf("after WithLockShared %d: unflushed %v, behind %v", k, j.unflushed, j.behind)
		}
	}
	if _, _, ok := a.readMark(writtenMarkAt); !ok {
		t.Error("no written mark: no flush was left for after the lock")
	}
	data, _, j, err := readAll(m.Crash(0), "/j", nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if len(data) != 6 {
		t.Errorf("after a crash that keeps only what was flushed: %d records, want 6", len(data))
	}
}

// sharedLockFaultWorkload is sharedFaultWorkload through WithLockShared:
// the faulty handle's batches (one, or two in one call) follow the clean
// one's, so that their flushes are left for after the lock.
func sharedLockFaultWorkload(fsys vfs.FS, m *vfs.MemFS) faultRun {
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
	for k := 100; k < 130; k += 2 {
		p := payload(k)
		r.attempted[string(p)] = true
		if _, err := b.Append(bg, p); err != nil {
			panic(err) // b's calls do not fail
		}
		r.acked = append(r.acked, string(p))
		ps := [][]byte{payload(k + 1)}
		if k%6 == 0 {
			ps = append(ps, payload(k+1000))
		}
		for _, p := range ps {
			r.attempted[string(p)] = true
		}
		err := a.WithLockShared(bg, func(tx *Tx) error {
			for _, p := range ps {
				if _, err := tx.AppendFlushed([][]byte{p}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			r.errs = append(r.errs, err)
			continue
		}
		for _, p := range ps {
			r.acked = append(r.acked, string(p))
		}
	}
	b.Close()
	if err := a.Close(); err != nil {
		r.errs = append(r.errs, err)
	}
	return r
}

// Every call of a writer whose WithLockShared leaves its flush for after
// the lock fails in turn: the error wraps its cause, and every
// acknowledged record survives, also a power cut after it.
func TestFaultWithLockShared(t *testing.T) {
	total, surfaced := faultEachCall(t, sharedLockFaultWorkload)
	t.Logf("%d injected faults checked, %d surfaced as errors", total, surfaced)
}

// A batch written unflushed, then one that does not fit in the segment:
// the rotation flushes the first before it writes the seal, so that no
// crash state keeps the seal and loses the batch before it (which
// recovery would report as damage inside the log, and refuse to open).
func TestCrashSealAfterUnflushed(t *testing.T) {
	m := vfs.NewMem()
	r := newRecorder(m, crashSeeds)
	j := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 4096})
	attempted := map[string]bool{}
	for k := range 6 {
		// The small batch spans sectors, so that a crash can keep the
		// sector of its end (and the seal's) and lose an earlier one.
		small := append(payload(k), bytes.Repeat([]byte{'s'}, 900)...)
		big := append(payload(100+k), bytes.Repeat([]byte{'b'}, 2900)...)
		attempted[string(small)], attempted[string(big)] = true, true
		if err := j.WithLock(bg, func(tx *Tx) error {
			if _, err := tx.AppendUnflushed([][]byte{small}); err != nil {
				return err
			}
			_, err := tx.AppendFlushed([][]byte{big})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		r.ack(string(small), string(big))
	}
	j.Close()
	states, _ := checkStates(t, r, attempted, false)
	segs, _ := listSegments(m, "/j")
	if len(segs) < 3 {
		t.Fatalf("%d segments: the workload did not rotate", len(segs))
	}
	t.Logf("%d crash states, %d segments", states, len(segs))
}

// The callers of one process that its last batch answered join its next
// batch when other processes append too (letJoin), rather than wait a
// whole turn behind a batch of one: with one processor, the leader of a
// batch that finds the lock free would otherwise write its record alone
// before the others could queue, and theirs would follow in batches (and
// turns of the lock, and flushes) of their own: 4 batches a round without
// the yield, 1 with it. A round may still split when the runtime switches
// goroutines at a moment of its own (a collection), so the bound is on
// the total.
func TestSharedTurnTakesWaitingCallers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	m := vfs.NewMem()
	withLockFile(t, m)
	a, b := twoHandles(t, m, 1<<20)
	const rounds = 10
	batches, k := 0, 0
	for range rounds {
		// a's last turn found b's records, and b has appended since:
		// a's next turn shares its flush.
		for _, j := range []*Journal{b, a, b} {
			if _, err := j.Append(bg, payload(k)); err != nil {
				t.Fatal(err)
			}
			k++
		}
		before := len(flagged(t, m, 0))
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				if _, err := a.Append(bg, payload(k+i)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		k += 4
		batches += len(flagged(t, m, 0)) - before
	}
	if batches > 2*rounds {
		t.Errorf("%d rounds of 4 concurrent appends of one process wrote %d batches, want at most %d", rounds, batches, 2*rounds)
	}
	if n := a.Size(); n != uint64(k) {
		t.Errorf("size %d, want %d", n, k)
	}
}
