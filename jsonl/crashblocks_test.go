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

// A batch bigger than the batch size (maxBatch, 256 KiB) is written in
// pieces, each synced before the next: so only the last piece can be lost
// in part, and a lost block followed by complete lines is always near the
// end, where Open cuts it. Written in one piece (the mutation
// durable_mutate_jsonl_one_piece), a lost block far from the end is out of
// the reach of Open's tail check, and the file it leaves does not parse.
//
// The real size samples few states, each of megabytes; the small one (a
// 4 KiB batch size, WithBatch) samples hundreds a step, enough that the
// crash model's block-by-block outcome, which alone loses an early block
// and keeps later ones, is met at every step. The batch changes no
// directory, so one directory profile is enough.
func TestCrashBlocksBigBatch(t *testing.T) {
	for _, c := range []struct {
		name         string
		batch        int64 // 0: maxBatch
		lines, pad   int
		seedsPerStep uint64
	}{
		{"maxBatch", 0, 1500, 800, 24},
		{"4KiB", 4096, 80, 300, 120},
	} {
		t.Run(c.name, func(t *testing.T) {
			var lines [][]byte
			for i := range c.lines {
				lines = append(lines, []byte(line(fmt.Sprintf("b%d", i), c.pad+i%97)))
			}
			crashBigBatch(t, c.batch, lines, c.seedsPerStep)
		})
	}
}

// crashBigBatch appends lines as one batch and checks seedsPerStep
// sampled crash states after every write it makes, and after it returned.
// The states are checked at each step and dropped.
func crashBigBatch(t *testing.T, batch int64, lines [][]byte, seedsPerStep uint64) {
	const name = "/big.jsonl"
	opts := &jsonl.Options{}
	if batch > 0 {
		opts = jsonl.WithBatch(nil, batch)
	}
	withFS := func(m vfs.FS) *jsonl.Options {
		o := *opts
		o.FS = m
		return &o
	}
	m := memWith(map[string]string{name: base})
	acked, _ := scanAll(m, name)
	f, err := jsonl.Open(name, withFS(m))
	if err != nil {
		t.Fatal(err)
	}
	step, checked, failures := 0, 0, 0
	// Lighter than recoverStateWith, for files of megabytes: Open must
	// succeed and keep every acknowledged line.
	recoverBig := func(c *vfs.MemFS) error {
		g, err := jsonl.Open(name, withFS(c))
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
		for seed := range seedsPerStep {
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
	for _, l := range lines {
		acked = append(acked, string(l))
	}
	check("returned")
	f.Close()
	if failures > 0 {
		t.Errorf("%d of %d crash states violate the invariant", failures, checked)
	}
	t.Logf("%d crash states (sampled) at %d steps", checked, step)
}
