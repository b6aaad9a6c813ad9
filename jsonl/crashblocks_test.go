package jsonl_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/vfs"
)

// The workloads in which block-level persistence leaves a zero block
// followed by complete lines (the first page of an unsynced write lost, a
// later one kept): JSON Lines must reopen every such state, cutting the
// leftovers into evidence, and lose nothing acknowledged.

// Many appends with durable.Cache: nothing is synced, so after a power cut
// any page of what was written may be lost and any later one kept.
func TestCrashBlocksCache(t *testing.T) {
	forProfiles(t, "", func(t *testing.T, order vfs.DirOrder) {
		crashCacheAppends(t, order, 40, func(i int) int { return 37 * (i % 9) })
	})
}

// Full durability with concurrent appenders: group commit writes several
// lines with one write, so a batch spans pages, and a crash before its
// fdatasync returns may keep a later page of it and lose an earlier one.
func TestCrashBlocksConcurrentBatches(t *testing.T) {
	forProfiles(t, "", func(t *testing.T, order vfs.DirOrder) {
		const name = "/events.jsonl"
		m := memUnder(order, map[string]string{name: base})
		r := record(m)
		vals, _ := scanAll(m, name)
		for _, l := range vals {
			r.ack(l)
		}
		f, err := jsonl.Open(name, &jsonl.Options{FS: m})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 6 {
					l := line(fmt.Sprintf("g%d-%d", g, i), 300+97*g+41*i)
					if err := f.AppendRaw(context.Background(), []byte(l)); err != nil {
						t.Error(err)
						return
					}
					r.ack(l)
				}
			})
		}
		wg.Wait()
		f.Close()
		checkStates(t, r.finish(), name)
		t.Log(r.count)
	})
}

// A batch bigger than maxBatch (1 MiB) is written in pieces, each synced
// before the next: so only the last piece can be lost in part, and a lost
// block followed by complete lines is always near the end, where Open
// cuts it. Written in one piece, a lost block 2 MiB from the end would be
// refused as damage in the middle. The states are checked at each step
// and dropped: each holds a megabyte or more. The batch changes no directory, so
// one directory profile is enough.
// bigSeeds is how many crash states TestCrashBlocksBigBatch samples per
// step: its states hold over a megabyte each, and the batch is written in
// six pieces.
const bigSeeds = 24

func TestCrashBlocksBigBatch(t *testing.T) {
	const name = "/big.jsonl"
	var lines [][]byte
	var want []string
	for i := range 1500 {
		l := line(fmt.Sprintf("b%d", i), 800+i%97)
		lines = append(lines, []byte(l))
		want = append(want, l)
	}
	{
		m := memWith(map[string]string{name: base})
		vals, _ := scanAll(m, name)
		var acked []string
		acked = append(acked, vals...)
		f, err := jsonl.Open(name, &jsonl.Options{FS: m})
		if err != nil {
			t.Fatal(err)
		}
		step, checked, failures := 0, 0, 0
		// Lighter than recoverStateWith, for files of megabytes: Open must
		// succeed and keep every acknowledged line.
		recoverBig := func(c *vfs.MemFS) error {
			g, err := jsonl.Open(name, &jsonl.Options{FS: c})
			if err != nil {
				return fmt.Errorf("Open after the crash: %v", err)
			}
			defer g.Close()
			// What Open kept parses, and nothing was cut from what was
			// acknowledged: the batch is acknowledged whole or not at all.
			vals, errs := scanAll(c, name)
			if len(errs) > 0 {
				return fmt.Errorf("after Open the file does not parse: %v", errs[0])
			}
			if len(vals) < len(acked) {
				return fmt.Errorf("%d lines after Open, want at least the %d acknowledged", len(vals), len(acked))
			}
			return nil
		}
		check := func(op string) {
			step++
			for seed := range uint64(bigSeeds) {
				checked++
				if err := recoverBig(m.Crash(seed)); err != nil {
					if failures++; failures <= 3 {
						t.Errorf("%v\ncrash after step %d (%s), seed %d", err, step, op, seed)
					}
				}
			}
		}
		m.SetHook(func(op vfs.Op, _ string) {
			if op == vfs.OpWrite {
				check(op.String())
			}
		})
		if err := f.AppendRawBatch(context.Background(), lines); err != nil {
			t.Fatal(err)
		}
		m.SetHook(nil)
		acked = append(acked, want...)
		check("returned")
		f.Close()
		if failures > 0 {
			t.Errorf("%d of %d crash states violate the invariant", failures, checked)
		}
		t.Logf("%d crash states (sampled) at %d steps", checked, step)
	}
}
