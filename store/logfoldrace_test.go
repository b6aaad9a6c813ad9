package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"
)

// Three handles (processes) on one document in log mode. A compacts, and
// the file is A's snapshot; then C compacts, and while C replaces the file
// (its fold is in the log, the file is still A's snapshot) B updates. B
// last read the file before both compactions: it catches up with both
// folds, and finds on disk the snapshot the first one names, not the one
// it read nor the one the last fold names. That file is no edit made
// without the lock: B's update must go through, not fail with a
// LogConflictError (the bench's four processes hit it when one closed,
// and compacted, while the others still updated).
func TestLogUpdateDuringAnotherCompactionAfterAnEarlierOne(t *testing.T) {
	m := logCrashBase(t)
	open := func() *store.Store[logCrashDoc] {
		s, err := store.Open(logCrashPath, &store.Options[logCrashDoc]{FS: m, Log: true, LogCompactSize: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b, c := open(), open(), open()
	ctx := context.Background()
	set := func(s *store.Store[logCrashDoc], key string) error {
		_, err := s.Update(ctx, func(d *logCrashDoc) error {
			if d.U == nil {
				d.U = map[string]int{}
			}
			d.U[key]++
			return nil
		})
		return err
	}
	if err := set(b, "b1"); err != nil {
		t.Fatal(err)
	}
	if err := set(a, "a1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if err := set(c, "c1"); err != nil {
		t.Fatal(err)
	}
	var berr error
	ran := false
	m.SetHook(func(op vfs.Op, name string) {
		// C's new snapshot is written and flushed under a temporary
		// name: its fold is in the log, the file still A's snapshot.
		if op != vfs.OpSync || !strings.HasSuffix(name, ".tmp") || ran {
			return
		}
		ran = true
		berr = set(b, "b2")
	})
	err := c.Compact(ctx)
	m.SetHook(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !ran {
		t.Fatal("the compaction wrote no temporary file: the test checks nothing")
	}
	if berr != nil {
		t.Fatalf("B's update while C replaced the file: %v", berr)
	}
	if err := set(b, "b3"); err != nil {
		t.Fatal(err)
	}
	d, _, err := a.Get()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a1", "b1", "b2", "b3", "c1"} {
		if d.U[k] != 1 {
			t.Errorf("%s = %d, want 1 (the document: %v)", k, d.U[k], d.U)
		}
	}
}
