package jsonl_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/durable-go/durable"
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
		const name = "/cache.jsonl"
		m := memUnder(order, map[string]string{name: base})
		r := record(m)
		f, err := jsonl.Open(name, &jsonl.Options{FS: m, Durability: durable.Cache})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 60 {
			if err := f.Append(context.Background(), rec{ID: fmt.Sprint(i), Pad: strings.Repeat("c", 37*(i%9))}); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		states := r.finish()
		vals, _ := scanAll(memWith(map[string]string{name: base}), name)
		for i := range states {
			states[i].acked = vals
		}
		checkStates(t, states, name)
		t.Log(r.count)
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
