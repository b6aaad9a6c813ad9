package journal

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// DropBefore succeeds while another Journal holds an old segment open for
// writing (every file durable opens shares delete access): the dropped
// segments leave the listing at once, and the retained records still read.
func TestDropBeforeWhileSegmentOpen(t *testing.T) {
	dir := testdir.New(t)
	j := mustOpen(t, dir, &Options{SegmentSize: 4096})
	defer j.Close()
	for k := range 70 {
		if _, err := j.Append(bg, payload(k)); err != nil {
			t.Fatal(err)
		}
	}
	bases, err := listSegments(vfs.OS{}, dir)
	if err != nil || len(bases) < 3 {
		t.Fatalf("segments %v, %v: want at least 3", bases, err)
	}
	held, err := vfs.OS{}.OpenFile(filepath.Join(dir, segName(bases[0])), os.O_RDWR, 0) // as another Journal does
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	first, err := j.DropBefore(bg, bases[2])
	if err != nil {
		t.Fatalf("DropBefore while a reader holds the first segment: %v", err)
	}
	if first != bases[2] {
		t.Fatalf("kept from %d, want %d", first, bases[2])
	}
	after, err := listSegments(vfs.OS{}, dir)
	if err != nil || after[0] != bases[2] {
		t.Fatalf("segments after the drop: %v, %v", after, err)
	}
	if recs := records(t, j); recs[0].Index != first {
		t.Fatalf("first record %d, want %d", recs[0].Index, first)
	}
}

// removeSegment waits out a holder that shares nothing, treats a segment
// already gone as removed, and leaves no tombstone behind.
func TestRemoveSegmentSharing(t *testing.T) {
	dir := testdir.New(t)
	name := segName(7)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("segment"), 0o600); err != nil {
		t.Fatal(err)
	}
	theirs, err := os.Open(path) // no FILE_SHARE_DELETE
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		theirs.Close()
	}()
	if err := removeSegment(vfs.OS{}, dir, name); err != nil {
		t.Fatalf("holder let go after 300ms: %v", err)
	}
	if es, err := os.ReadDir(dir); err != nil || len(es) != 0 {
		t.Fatalf("left %v, %v", es, err)
	}
	if err := removeSegment(vfs.OS{}, dir, name); err != nil {
		t.Fatalf("a segment already gone: %v", err)
	}
}
