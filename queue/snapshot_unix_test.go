//go:build unix

package queue

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
)

// A link or a FIFO planted at the snapshot's name is never followed or
// waited on, read or written through: Open reports it and rebuilds the
// state from the journal, the link's target is untouched, and the queue
// works on.
func TestSnapshotPlanted(t *testing.T) {
	for _, kind := range []string{"symlink", "fifo"} {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(testdir.New(t), "q")
			q, err := Open(dir, &Options{CompactRecords: 8})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				if _, err := q.Push(bg, fmt.Appendf(nil, "m%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			q.Close()
			snap := filepath.Join(dir, SnapshotName)
			victim := filepath.Join(filepath.Dir(dir), "victim")
			if err := os.WriteFile(victim, []byte("not yours"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(snap); err != nil {
				t.Fatal(err)
			}
			if kind == "symlink" {
				err = os.Symlink(victim, snap)
			} else {
				err = syscall.Mkfifo(snap, 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			var told []error
			done := make(chan struct{})
			go func() {
				defer close(done)
				q, err = Open(dir, &Options{CompactRecords: 8, OnRecover: func(err error) { told = append(told, err) }})
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Open waits on what is planted at the snapshot's name")
			}
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			if len(told) != 1 {
				t.Fatalf("told %v, want one report", told)
			}
			m, ok, err := q.TryPop(bg, time.Minute)
			if err != nil || !ok || string(m.Payload) != "m0" {
				t.Fatalf("pop: %q %v %v", m.Payload, ok, err)
			}
			for i := range 20 {
				if _, err := q.Push(bg, fmt.Appendf(nil, "n%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			if b, err := os.ReadFile(victim); err != nil || string(b) != "not yours" {
				t.Fatalf("the link's target: %q, %v", b, err)
			}
			// What is planted stays (it is not the queue's to remove),
			// and says so at every Open; the journal has everything.
			fi, err := os.Lstat(snap)
			if err != nil || fi.Mode().IsRegular() {
				t.Fatalf("the snapshot's name: %v, %v", fi, err)
			}
			t.Logf("told: %v", told[0])
		})
	}
}
