package jsonl_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/vfs"
)

// Open reads only the end of a large file (tail.go). These tests run it
// with a batch of tailBatch bytes instead of 1 MiB, so that the part Open
// skips, the end it reads and every crash state fit in kilobytes; the
// bound is the same arithmetic at either size.
const tailBatch = 1024

// tailOpts are Open's options with the small batch.
func tailOpts(d durable.Durability) *jsonl.Options {
	return jsonl.WithBatch(&jsonl.Options{Durability: d}, tailBatch)
}

// openOn opens name on fsys with opts, failing the test on an error.
func openOn(t *testing.T, fsys vfs.FS, name string, opts *jsonl.Options) *jsonl.File {
	t.Helper()
	o := *opts
	o.FS = fsys
	f, err := jsonl.Open(name, &o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// synced is a log of n durable lines of about 100 bytes, a prefix much
// longer than the end Open reads.
func synced(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(line(fmt.Sprintf("old-%d", i), 60+i%40) + "\n")
	}
	return b.String()
}

// tailWorkload appends what exercises every bound: single lines, lines
// longer than the batch (written alone), and a batch of many lines that is
// written in pieces. It returns the lines, in order.
func tailWorkload(t *testing.T, f *jsonl.File, ack func(string)) {
	t.Helper()
	ctx := context.Background()
	for i := range 40 {
		pad := 30 + 53*(i%7)
		switch i {
		case 11, 29:
			pad = 3*tailBatch + 100*i // a line longer than the end Open reads
		}
		l := line(fmt.Sprintf("new-%d", i), pad)
		if i == 20 {
			var batch [][]byte
			var ls []string
			for j := range 30 {
				bl := line(fmt.Sprintf("batch-%d", j), 40+17*j)
				batch = append(batch, []byte(bl))
				ls = append(ls, bl)
			}
			if err := f.AppendRawBatch(ctx, batch); err != nil {
				t.Fatal(err)
			}
			for _, bl := range ls {
				ack(bl)
			}
			continue
		}
		if err := f.AppendRaw(ctx, []byte(l)); err != nil {
			t.Fatal(err)
		}
		ack(l)
	}
}

// Crash points under the tail check: a file much longer than the end Open
// reads, appends of every shape, a crash after every step in every way the
// model allows; then Open with the tail check must succeed, keep every
// acknowledged line, and leave a file whose every line parses (Scan reads
// it all, so damage left before the part Open read would show).
func TestCrashTail(t *testing.T) {
	const name = "/app/long.jsonl"
	// The workload appends to a file that exists and changes no directory
	// (Open syncs one it did not change), so one directory profile is
	// enough; the durabilities differ in what may be unsynced.
	for _, d := range []durable.Durability{durable.Full, durable.Cache} {
		t.Run(d.String(), func(t *testing.T) {
			m := memWith(map[string]string{name: synced(60)})
			r := record(m)
			initial, _ := scanAll(m, name)
			for _, l := range initial {
				r.ack(l)
			}
			opts := tailOpts(d)
			f := openOn(t, m, name, opts)
			if f.Report().CheckedFrom == 0 {
				t.Fatalf("Open read the whole file of %d bytes: the test does not reach the tail check", f.Report().SizeBefore)
			}
			ack := r.ack
			if d == durable.Cache {
				ack = func(string) {} // a power cut may lose them by design
			}
			tailWorkload(t, f, ack)
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			checkStatesWith(t, r.finish(), name, opts)
			t.Log(r.count)
		})
	}
}

// Differential: over crash states of the workload above, Open with the
// tail check and Repair, which reads the whole file, make the same repair:
// the same bytes cut into evidence, the same newline added, the same file
// afterwards. Each state is built twice from the same seed, one for each.
func TestTailOpenMatchesFullScan(t *testing.T) {
	const name = "/app/long.jsonl"
	for _, d := range []durable.Durability{durable.Full, durable.Cache} {
		t.Run(d.String(), func(t *testing.T) {
			m := memWith(map[string]string{name: synced(60)})
			opts := tailOpts(d)
			f := openOn(t, m, name, opts)
			rng := rand.New(rand.NewPCG(1, 2))
			checked, tail, cuts := 0, 0, 0
			m.SetHook(func(op vfs.Op, _ string) {
				if op != vfs.OpWrite && op != vfs.OpSync {
					return
				}
				for range 6 {
					seed := rng.Uint64()
					a, b := m.Crash(seed), m.Crash(seed)
					checked++
					ta, cut, err := compareTailAndFull(t, a, b, name, opts)
					if err != nil {
						t.Errorf("seed %d: %v\n%s", seed, err, a.Dump())
						return
					}
					if ta {
						tail++
					}
					if cut {
						cuts++
					}
				}
			})
			tailWorkload(t, f, func(string) {})
			m.SetHook(nil)
			f.Close()
			t.Logf("%d crash states: %d opened with the tail check, %d with a cut", checked, tail, cuts)
			if tail == 0 || cuts == 0 {
				t.Errorf("the states never exercised the tail check (%d) or a cut (%d)", tail, cuts)
			}
		})
	}
}

// compareTailAndFull opens name on a with the tail check and repairs it on
// b with a full read, and reports any difference in what they did.
func compareTailAndFull(t *testing.T, a, b *vfs.MemFS, name string, opts *jsonl.Options) (tail, cut bool, err error) {
	before := content(t, a, name)
	if before == "<absent>" {
		return false, false, nil
	}
	o := *opts
	o.FS = a
	f, err := jsonl.Open(name, &o)
	if err != nil {
		return false, false, fmt.Errorf("Open with the tail check: %v", err)
	}
	ra := f.Report()
	f.Close()
	o.FS = b
	rb, err := jsonl.Repair(name, &o)
	if err != nil {
		return false, false, fmt.Errorf("Open succeeded, but the full Repair says: %v", err)
	}
	if ra.CheckedFrom > 0 && before[ra.CheckedFrom-1] != '\n' {
		return false, false, fmt.Errorf("the check started at byte %d, not at a line start", ra.CheckedFrom)
	}
	if ra.CutOffset != rb.CutOffset || ra.CutBytes != rb.CutBytes || ra.Terminated != rb.Terminated || ra.Zeros != rb.Zeros {
		return false, false, fmt.Errorf("tail check %+v, full read %+v", ra, rb)
	}
	if ca, cb := content(t, a, name), content(t, b, name); ca != cb {
		return false, false, fmt.Errorf("after the tail check the file holds %q, after the full read %q", ca, cb)
	}
	return ra.CheckedFrom > 0, ra.CutBytes > 0, nil
}

// The tail check reads the end and nothing more: damage further back, which
// no crash leaves, is Repair's, Scan's and fsck's to find, and appending
// after it is safe. Within the end, damage is refused as before, with its
// offset (its line number is not known).
func TestOpenChecksOnlyTheTail(t *testing.T) {
	const name = "/log"
	prefix := synced(60)
	ctx := context.Background()

	early := "not json\n" + prefix
	m := memWith(map[string]string{name: early})
	o := tailOpts(durable.Full)
	o.FS = m
	f, err := jsonl.Open(name, o)
	if err != nil {
		t.Fatalf("Open refused damage before the end it reads: %v", err)
	}
	rep := f.Report()
	if rep.CheckedFrom == 0 || rep.CheckedFrom > int64(len(early)-2*tailBatch) || early[rep.CheckedFrom-1] != '\n' {
		t.Errorf("checked from byte %d of %d, want a line start at least %d bytes before the end", rep.CheckedFrom, len(early), 2*tailBatch)
	}
	if rep.Lines == 0 || rep.Lines >= 60 {
		t.Errorf("report counts %d lines, want those of the end only", rep.Lines)
	}
	if err := f.Append(ctx, rec{ID: "after"}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var ce *jsonl.CorruptError
	if _, err := jsonl.Repair(name, o); !errors.As(err, &ce) || ce.Line != 1 || ce.Offset != 0 {
		t.Errorf("Repair, which reads it all, = %v; want the corrupt line 1", err)
	}
	if _, errs := scanAll(m, name); len(errs) != 1 {
		t.Errorf("Scan reports %v, want the corrupt first line", errs)
	}

	// Damage within the end is refused, and named by its offset.
	late := prefix + "oops\n" + line("last", 10) + "\n"
	off := int64(len(prefix))
	m = memWith(map[string]string{name: late})
	o.FS = m
	_, err = jsonl.Open(name, o)
	if !errors.As(err, &ce) || ce.Offset != off || ce.Line != 0 || ce.Torn {
		t.Fatalf("Open = %v, want the corrupt line at byte %d, line unknown", err, off)
	}
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("line at byte %d", off)) || strings.Contains(msg, "line 0") {
		t.Errorf("message %q", msg)
	}
	if content(t, m, name) != late {
		t.Error("a refused Open changed the file")
	}

	// A last line longer than the end is read whole, and the lines before
	// it too: a crash may have left them unsynced with it (durable.Cache).
	long := line("long", 10*tailBatch)
	data := prefix + long[:len(long)-4000] + strings.Repeat("\x00", 4000)
	m = memWith(map[string]string{name: data})
	o = tailOpts(durable.Cache)
	o.FS = m
	f, err = jsonl.Open(name, o)
	if err != nil {
		t.Fatal(err)
	}
	rep = f.Report()
	f.Close()
	if rep.CutOffset != int64(len(prefix)) || rep.CheckedFrom > int64(len(prefix)-tailBatch) {
		t.Errorf("report %+v: want the long line cut at %d and the check from at least %d bytes before it", rep, len(prefix), tailBatch)
	}
}

// With durable.Cache the unsynced end reaches back two batches: what was
// written since the file last crossed a multiple of the batch size, then
// the write that crossed the next one. A crash that lost the first block of
// that stretch and kept later ones leaves zeros well before the last batch;
// Open must read back far enough to cut them all.
func TestTailReachesBackTwoBatches(t *testing.T) {
	const name = "/log"
	prefix := synced(60)
	var w strings.Builder
	for i := 0; w.Len() < 2*tailBatch-200; i++ {
		w.WriteString(line(fmt.Sprintf("w%d", i), 40) + "\n")
	}
	data := lostBlock(prefix, w.String(), 512)
	m := memWith(map[string]string{name: data})
	o := tailOpts(durable.Cache)
	o.FS = m
	f, err := jsonl.Open(name, o)
	if err != nil {
		t.Fatal(err)
	}
	rep := f.Report()
	f.Close()
	if rep.CutOffset != int64(len(prefix)) || rep.CutBytes != int64(len(data)-len(prefix)) {
		t.Errorf("report %+v: want the %d bytes after byte %d cut", rep, len(data)-len(prefix), len(prefix))
	}
	if _, errs := scanAll(m, name); len(errs) > 0 {
		t.Errorf("after Open: %v", errs)
	}
}

// FuzzTailOpen: on any bytes, Open with the tail check never touches what
// lies before the part it read, starts at a line start, and, when the full
// read finds nothing wrong before that part (no corrupt line, no cut),
// does exactly what Repair's full read does.
func FuzzTailOpen(f *testing.F) {
	f.Add([]byte(synced(10)+`{"a":`), uint8(0))
	f.Add([]byte(synced(30)+"\x00\x00\n"+line("x", 3)+"\n"), uint8(1))
	f.Add([]byte("zz\n"+synced(20)+line("y", 900)+"\n"), uint8(2))
	f.Add([]byte(lostBlock(synced(12), synced(8), 512)), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		const name = "/log"
		batch := int64(64) << (sel % 4) // 64 to 512 bytes
		d := durable.Full
		if sel&4 != 0 {
			d = durable.Cache
		}
		a, b := memWith(map[string]string{name: string(data)}), memWith(map[string]string{name: string(data)})
		o := jsonl.WithBatch(&jsonl.Options{Durability: d, AllowCorrupt: true}, batch)
		o.FS = a
		fa, err := jsonl.Open(name, o)
		if err != nil {
			t.Fatalf("Open with AllowCorrupt: %v", err)
		}
		ra := fa.Report()
		fa.Close()
		from := ra.CheckedFrom
		if from < 0 || from > int64(len(data)) || from > 0 && data[from-1] != '\n' {
			t.Fatalf("checked from %d: not a line start of the %d bytes", from, len(data))
		}
		after := content(t, a, name)
		if !strings.HasPrefix(after, string(data[:from])) {
			t.Fatalf("Open changed bytes before %d, where it started reading", from)
		}
		o.FS = b
		rb, err := jsonl.Repair(name, o)
		if err != nil {
			t.Fatalf("Repair with AllowCorrupt: %v", err)
		}
		clean := rb.CutBytes == 0 || rb.CutOffset >= from
		for _, c := range rb.Corrupt {
			clean = clean && c.Offset >= from
		}
		if rb.CorruptLines > len(rb.Corrupt) {
			clean = false // some not listed: cannot tell where
		}
		if !clean {
			return
		}
		if ra.CutOffset != rb.CutOffset || ra.CutBytes != rb.CutBytes || ra.Terminated != rb.Terminated || after != content(t, b, name) {
			t.Fatalf("nothing wrong before byte %d, yet the tail check %+v differs from the full read %+v", from, ra, rb)
		}
		if ra.CorruptLines != rb.CorruptLines {
			t.Fatalf("tail check found %d corrupt lines, the full read %d, all after byte %d", ra.CorruptLines, rb.CorruptLines, from)
		}
		for i, c := range ra.Corrupt {
			if c.Offset != rb.Corrupt[i].Offset {
				t.Fatalf("corrupt line %d at byte %d, the full read says %d", i, c.Offset, rb.Corrupt[i].Offset)
			}
		}
	})
}

// Every call failed in turn under the tail check, on a log longer than the
// end Open reads, with lines that take it past multiples of the batch size
// (with durable.Cache those appends fsync, and that fsync can fail too).
func TestFaultEveryCallTail(t *testing.T) {
	for _, d := range []durable.Durability{durable.Full, durable.Cache} {
		t.Run(d.String(), func(t *testing.T) {
			// The appends must fsync under either durability, or the
			// failing fsync of a crossing goes untested.
			files := map[string]string{faultLog: synced(60) + faultTorn}
			m := memWith(files)
			probe := vfs.Inject(m, vfs.Fault{Ops: vfs.OpSync})
			f, err := jsonl.Open(faultLog, &jsonl.Options{FS: probe})
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			opened := probe.Count()
			if _, err := faultRunWith(t, m, probe, tailOpts(d), 450); err != nil || probe.Count() == opened {
				t.Fatalf("the appends made no fsync (%v)", err)
			}
			faultEveryCall(t, synced(60), tailOpts(d), 450, d == durable.Full)
		})
	}
}
