package fsck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/queue"
)

// newSnapshotted makes a queue whose state snapshot has been written, and
// returns its Stats.
func newSnapshotted(t *testing.T, dir string, n int) queue.Stats {
	t.Helper()
	ctx := context.Background()
	q, err := queue.Open(dir, &queue.Options{CompactRecords: 8})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := q.Push(ctx, []byte(strings.Repeat("x", i))); err != nil {
			t.Fatal(err)
		}
	}
	for range n / 3 {
		m, err := q.Pop(ctx, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if i := m.ID; i%2 == 0 {
			if err := q.Ack(ctx, m.Receipt()); err != nil {
				t.Fatal(err)
			}
		}
	}
	st, err := q.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, queue.SnapshotName)); err != nil {
		t.Fatalf("no state snapshot was written: %v", err)
	}
	return st
}

func queueStatsOf(t *testing.T, dir string) queue.Stats {
	t.Helper()
	st, err := queueStats(dir, &queue.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A damaged or foreign snapshot is found without changing anything, and
// --fix keeps it as evidence and rebuilds it to the state of the journal.
func TestQueueSnapshotChecked(t *testing.T) {
	ctx := context.Background()
	for _, damage := range []string{"flipped", "foreign", "truncated"} {
		t.Run(damage, func(t *testing.T) {
			root := testdir.New(t)
			dir := filepath.Join(root, "jobs")
			want := newSnapshotted(t, dir, 60)
			if rep, err := Check(ctx, []string{root}, &Options{Now: later}); err != nil || len(rep.Findings) != 0 {
				t.Fatalf("a good snapshot: %v\n%s", err, dump(rep))
			}
			snap := filepath.Join(dir, queue.SnapshotName)
			b, err := os.ReadFile(snap)
			if err != nil {
				t.Fatal(err)
			}
			switch damage {
			case "flipped":
				b[len(b)/2] ^= 0x40
			case "foreign":
				other := filepath.Join(testdir.New(t), "other")
				newSnapshotted(t, other, 60)
				if b, err = os.ReadFile(filepath.Join(other, queue.SnapshotName)); err != nil {
					t.Fatal(err)
				}
			case "truncated":
				b = b[:len(b)-3]
			}
			if err := os.WriteFile(snap, b, 0o600); err != nil {
				t.Fatal(err)
			}

			before := snapshot(t, root)
			rep, err := Check(ctx, []string{root}, &Options{Now: later})
			if err != nil {
				t.Fatal(err)
			}
			f := find(rep, snap, QueueSnapshot)
			if f == nil || !f.Problem || !f.Fixable || f.Fixed {
				t.Fatalf("want an unfixed queue-snapshot finding:\n%s", dump(rep))
			}
			if d := diffSnapshots(before, snapshot(t, root)); len(d) > 0 {
				t.Fatalf("a check without --fix changed files:\n%s", strings.Join(d, "\n"))
			}

			rep, err = Check(ctx, []string{root}, &Options{Fix: true, Now: later})
			if err != nil {
				t.Fatal(err)
			}
			if f := find(rep, snap, QueueSnapshot); f == nil || !f.Fixed {
				t.Fatalf("want the snapshot rebuilt:\n%s", dump(rep))
			}
			if _, err := os.Stat(snap + ".corrupt"); err != nil {
				t.Errorf("the damaged snapshot was not kept: %v", err)
			}
			if got := queueStatsOf(t, dir); got != want {
				t.Errorf("after the fix the queue says %+v, want %+v", got, want)
			}
			if rep, err := Check(ctx, []string{root}, &Options{Now: later}); err != nil || find(rep, snap, QueueSnapshot) != nil {
				t.Errorf("after the fix: %v\n%s", err, dump(rep))
			}
		})
	}
}
