package journal

import (
	"errors"
	"slices"
	"syscall"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/vfs"
)

// Unflushed batches survive a crash of the process but not a power cut;
// the batch written after an unflushed one is flushed whatever it is told,
// so a crash leaves at most one unflushed batch at the end, and a flushed
// batch makes every one before it durable.
func TestWithLockUnflushed(t *testing.T) {
	m := vfs.NewMem()
	j, err := Open("/j", &Options{FS: m, SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	appendOne := func(k int, flush bool) {
		t.Helper()
		if err := j.WithLock(bg, func(tx *Tx) error {
			var err error
			if flush {
				_, err = tx.AppendFlushed([][]byte{payload(k)})
			} else {
				_, err = tx.AppendUnflushed([][]byte{payload(k)})
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// kept opens what a power cut that loses everything unsynced leaves.
	kept := func() []string {
		t.Helper()
		data, _, j2, err := readAll(m.Crash(0), "/j", nil)
		if err != nil {
			t.Fatal(err)
		}
		j2.Close()
		return data
	}
	want := func(ks ...int) []string {
		var s []string
		for _, k := range ks {
			s = append(s, string(payload(k)))
		}
		return s
	}
	appendOne(0, true)
	appendOne(1, false)
	if got := kept(); !slices.Equal(got, want(0)) {
		t.Fatalf("after an unflushed batch, a power cut keeps %q, want %q", got, want(0))
	}
	appendOne(2, false) // follows an unflushed batch: flushed
	if got := kept(); !slices.Equal(got, want(0, 1, 2)) {
		t.Fatalf("after two unflushed batches, a power cut keeps %q, want %q", got, want(0, 1, 2))
	}
	appendOne(3, false)
	appendOne(4, true) // covers 3
	if got := kept(); !slices.Equal(got, want(0, 1, 2, 3, 4)) {
		t.Fatalf("after a flushed batch, a power cut keeps %q, want %q", got, want(0, 1, 2, 3, 4))
	}
	// Everything written, flushed or not, survives the process.
	appendOne(5, false)
	data, _, j2, err := readAll(m, "/j", nil)
	if err != nil {
		t.Fatal(err)
	}
	j2.Close()
	if !slices.Equal(data, want(0, 1, 2, 3, 4, 5)) {
		t.Fatalf("without a power cut: %q", data)
	}
	var tx2 *Tx
	j.WithLock(bg, func(tx *Tx) error { tx2 = tx; return nil })
	if _, err := tx2.AppendFlushed([][]byte{payload(6)}); err == nil {
		t.Fatal("AppendFlushed after WithLock returned succeeded")
	}
}

// AppendFlushedThen lets written go once the batch is written and before it is
// flushed: at that moment a process that opens the journal sees the
// records, a power cut does not keep them, and a failed flush then wipes
// them and fails the append.
func TestAppendFlushedThen(t *testing.T) {
	m := vfs.NewMem()
	j, err := Open("/j", &Options{FS: m, SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := j.Append(bg, payload(0)); err != nil {
		t.Fatal(err)
	}
	var atWritten, cutAtWritten *vfs.MemFS
	calls := 0
	if err := j.WithLock(bg, func(tx *Tx) error {
		_, err := tx.AppendFlushedThen([][]byte{payload(1), payload(2)}, func() {
			calls++
			atWritten, cutAtWritten = m.Crash(1), m.Crash(0)
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("written called %d times, want 1", calls)
	}
	read := func(fsys vfs.FS) []string {
		t.Helper()
		data, _, j2, err := readAll(fsys, "/j", nil)
		if err != nil {
			t.Fatal(err)
		}
		j2.Close()
		return data
	}
	all := []string{string(payload(0)), string(payload(1)), string(payload(2))}
	if got := read(atWritten); !slices.Equal(got, all) {
		t.Fatalf("when written was called, the journal held %q, want %q", got, all)
	}
	if got := read(cutAtWritten); !slices.Equal(got, all[:1]) {
		t.Fatalf("written was called after the flush: a power cut then kept %q", got)
	}
	if got := read(m.Crash(0)); !slices.Equal(got, all) {
		t.Fatalf("after AppendFlushedThen returned, a power cut keeps %q, want %q", got, all)
	}

	// A failed flush: written was called, the append fails, and the
	// records are gone.
	probe := vfs.Inject(vfs.NewMem(), vfs.Fault{Ops: vfs.OpSync})
	jp, err := Open("/k", &Options{FS: probe, SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	jp.Close()
	mem := vfs.NewMem()
	inj := vfs.Inject(mem, vfs.Fault{Ops: vfs.OpSync, N: probe.Count() + 1, Err: syscall.EIO})
	j3, err := Open("/k", &Options{FS: inj, SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	calls = 0
	err = j3.WithLock(bg, func(tx *Tx) error {
		_, err := tx.AppendFlushedThen([][]byte{payload(1)}, func() { calls++ })
		return err
	})
	j3.Close()
	if !errors.Is(err, syscall.EIO) || calls != 1 || inj.Fired() != 1 {
		t.Fatalf("failed flush: err %v, written called %d times, faults fired %d", err, calls, inj.Fired())
	}
	for _, fsys := range []*vfs.MemFS{mem, mem.Crash(0)} {
		if got := read(fsys); len(got) != 0 {
			t.Fatalf("after a failed flush the journal holds %q", got)
		}
	}
}

// A power cut during the flush of a batch that follows an unflushed one
// can keep the later batch's pages and lose the earlier one's. Recovery
// cuts both (neither was acknowledged), because the later one's commit
// frame says it followed an unflushed batch; without that, an intact batch
// after a damaged one is damage inside the log.
func TestTornUnflushedThenFlushed(t *testing.T) {
	type step struct {
		k     int
		flush bool
	}
	cases := []struct {
		name    string
		steps   []step
		damage  string // of record 1's batch: "first record", "whole batch"; or "first record and last commit"
		want    []int  // what recovery keeps; nil: ErrCorrupt
		wantCut bool
	}{
		{"unflushed, then flushed: first record lost", []step{{0, true}, {1, false}, {2, true}}, "first record", []int{0}, true},
		{"unflushed, then flushed: whole batch lost", []step{{0, true}, {1, false}, {2, true}}, "whole batch", []int{0}, true},
		{"unflushed, then flushed: first record and the last commit lost", []step{{0, true}, {1, false}, {2, true}}, "first record and last commit", []int{0}, true},
		{"both flushed: first record lost", []step{{0, true}, {1, true}, {2, true}}, "first record", nil, false},
		{"both flushed: whole batch lost", []step{{0, true}, {1, true}, {2, true}}, "whole batch", nil, false},
		{"a third batch after the pair", []step{{0, true}, {1, false}, {2, true}, {3, true}}, "first record", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := vfs.NewMem()
			j, err := Open(tamperDir, &Options{FS: m, SegmentSize: 1 << 16})
			if err != nil {
				t.Fatal(err)
			}
			var start, end, last int64 // record 1's batch; the end of the log
			for _, s := range c.steps {
				if s.k == 1 {
					start = j.end
				}
				if err := j.WithLock(bg, func(tx *Tx) error {
					var err error
					if s.flush {
						_, err = tx.AppendFlushed([][]byte{payload(s.k)})
					} else {
						_, err = tx.AppendUnflushed([][]byte{payload(s.k)})
					}
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if s.k == 1 {
					end = j.end
				}
			}
			last = j.end
			j.Close()
			seg := segPaths(t, m)[0]
			d := readF(t, m, seg)
			switch c.damage {
			case "whole batch":
				clear(d[start:end])
			case "first record and last commit":
				clear(d[last-commitSize : last])
				fallthrough
			case "first record":
				clear(d[start : start+frameHeader])
			}
			writeF(t, m, seg, d)

			data, notes, j2, err := readAll(m, tamperDir, &Options{SegmentSize: 1 << 16})
			if c.want == nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("got %v, want ErrCorrupt (damage inside the log)", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("recovery refused a torn tail: %v", err)
			}
			j2.Close()
			var want []string
			for _, k := range c.want {
				want = append(want, string(payload(k)))
			}
			if !slices.Equal(data, want) || len(notes) != 1 {
				t.Fatalf("kept %q with %d notes, want %q and the note of the cut", data, len(notes), want)
			}
		})
	}
}

// The deprecated names still work: Transact is WithLock, Tx.Append and
// Tx.AppendThen take the bare flush bool, Options.NoSync is durable.Cache
// and Version is FormatVersion.
func TestDeprecatedNames(t *testing.T) {
	if Version != FormatVersion {
		t.Fatal("Version differs from FormatVersion")
	}
	m := vfs.NewMem()
	j := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 4096})
	calls := 0
	if err := j.Transact(bg, func(tx *Tx) error {
		if _, err := tx.Append([][]byte{payload(0)}, true); err != nil {
			return err
		}
		if _, err := tx.Append([][]byte{payload(1)}, false); err != nil {
			return err
		}
		if !tx.Unflushed() {
			t.Error("Append(false) flushed")
		}
		_, err := tx.AppendThen([][]byte{payload(2)}, true, func() { calls++ })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	data, _, j2, err := readAll(m.Crash(0), "/j", nil)
	if err != nil {
		t.Fatal(err)
	}
	j2.Close()
	if calls != 1 || len(data) != 3 {
		t.Fatalf("written called %d times, %d records kept by a power cut", calls, len(data))
	}

	// NoSync: appends are not flushed, as with durable.Cache.
	for _, o := range []Options{{NoSync: true}, {Durability: durable.Cache}} {
		m := vfs.NewMem()
		probe := vfs.Inject(m, vfs.Fault{Ops: vfs.OpSync})
		o.FS, o.SegmentSize = probe, 4096
		j := mustOpen(t, "/j", &o)
		before := probe.Count()
		for k := range 5 {
			if _, err := j.Append(bg, payload(k)); err != nil {
				t.Fatal(err)
			}
		}
		if n := probe.Count() - before; n != 0 {
			t.Fatalf("%+v: %d flushes for 5 appends, want none", o, n)
		}
		j.Close()
	}
	if _, err := Open("/j", &Options{FS: vfs.NewMem(), Durability: durable.Durability(7)}); err == nil {
		t.Fatal("an unknown durability was accepted")
	}
}
