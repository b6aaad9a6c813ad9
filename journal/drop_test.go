package journal

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// DropBefore's removals may reach the disk in any subset before its
// directory fsync (POSIX promises no order). Every such state opens with
// every retained record, verifies, and the writer finishes the drop.
func TestDropBeforeAnySubsetOfRemovals(t *testing.T) {
	m := vfs.NewMem()
	o := &Options{FS: m, SegmentSize: 4096}
	j := mustOpen(t, "/j", o)
	for k := range 120 {
		if _, err := j.Append(bg, payload(k)); err != nil {
			t.Fatal(err)
		}
	}
	before, err := listSegments(m, "/j")
	if err != nil {
		t.Fatal(err)
	}
	saved := map[uint64][]byte{}
	for _, b := range before {
		saved[b] = readF(t, m, filepath.Join("/j", segName(b)))
	}
	first, err := j.DropBefore(bg, 90)
	if err != nil {
		t.Fatal(err)
	}
	size := j.Size()
	j.Close()
	m.SyncAll()
	var dropped []uint64
	for _, b := range before {
		if b < first {
			dropped = append(dropped, b)
		}
	}
	if len(dropped) < 3 {
		t.Fatalf("only %d segments dropped; the test needs more", len(dropped))
	}
	// Every subset of the removals persisted: the bits of mask say which
	// dropped segments are still there.
	for mask := 0; mask < 1<<len(dropped); mask++ {
		t.Run(fmt.Sprintf("kept %b", mask), func(t *testing.T) {
			c := m.Crash(1)
			for i, b := range dropped {
				if mask&(1<<i) != 0 {
					writeF(t, c, filepath.Join("/j", segName(b)), saved[b])
				}
			}
			if _, err := Verify(bg, "/j", &VerifyOptions{FS: c}); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			j, err := Open("/j", &Options{FS: c, SegmentSize: 4096})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			n := 0
			for r, err := range j.Scan(0) {
				if err != nil {
					t.Fatalf("Scan: %v", err)
				}
				if r.Index >= first {
					n++
				}
			}
			if uint64(n) != size-first {
				t.Fatalf("scan saw %d retained records, want %d", n, size-first)
			}
			if _, err := j.Append(bg, payload(999)); err != nil {
				t.Fatal(err)
			}
			j.Close()
			left, _ := listSegments(c, "/j")
			if left[0] > first {
				t.Fatalf("segments %v: retained records are gone", left)
			}
			if _, err := Verify(bg, "/j", &VerifyOptions{FS: c}); err != nil {
				t.Fatalf("Verify after reopen: %v", err)
			}
		})
	}
}

// A segment missing from the middle of the chain without a retention record
// that drops it is still refused.
func TestGapWithoutRetentionIsRefused(t *testing.T) {
	m, bases := segmentedJournal(t)
	m.Remove(filepath.Join("/j", segName(bases[1])))
	if _, err := Open("/j", &Options{FS: m, SegmentSize: 4096}); !errorsIsTampered(err) {
		t.Fatalf("Open: %v, want ErrTampered", err)
	}
	if _, err := Verify(bg, "/j", &VerifyOptions{FS: m}); !errorsIsTampered(err) {
		t.Fatalf("Verify: %v, want ErrTampered", err)
	}
	if left, _ := listSegments(m, "/j"); len(left) != len(bases)-1 {
		t.Fatalf("segments removed: %v", left)
	}
}

func errorsIsTampered(err error) bool { return errors.Is(err, ErrTampered) }

// segmentedJournal writes 60 records to a closed journal /j of 4 KiB
// segments, several of them, and returns its filesystem and the segments'
// base indexes.
func segmentedJournal(t *testing.T) (*vfs.MemFS, []uint64) {
	t.Helper()
	m := vfs.NewMem()
	j := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 4096})
	for k := range 60 {
		j.Append(bg, payload(k))
	}
	j.Close()
	bases, _ := listSegments(m, "/j")
	return m, bases
}
