package journal

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// Segments are allocated in steps (growFactor) up to the segment size: a
// log of a few records stays small (issue 23: five records took 64 MiB).

// dirBytes is what the files in dir and its subdirectories take: their
// sizes, which on the real OS are also what fallocate reserved.
func dirBytes(t *testing.T, fsys vfs.FS, dir string) int64 {
	t.Helper()
	var n int64
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			n += dirBytes(t, fsys, p)
			continue
		}
		fi, err := fsys.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

func TestSmallLogStaysSmall(t *testing.T) {
	dir := testdir.New(t)
	j := mustOpen(t, dir, nil)
	for k := range 5 {
		if _, err := j.Append(bg, payload(k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if n := dirBytes(t, vfs.OS{}, dir); n > 1<<20 {
		t.Fatalf("a journal of 5 records takes %d bytes, want <= 1 MiB", n)
	}
	if n := allocatedBytes(t, dir); n > 1<<20 {
		t.Fatalf("a journal of 5 records has %d bytes allocated on disk, want <= 1 MiB", n)
	}
	// Reopened, it stays that small, and appends go on.
	j = mustOpen(t, dir, nil)
	if _, err := j.Append(bg, payload(5)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if n := dirBytes(t, vfs.OS{}, dir); n > 1<<20 {
		t.Fatalf("after reopening: %d bytes", n)
	}
}

// allocatedBytes sums the segments' sizes as the OS reports them; on
// Unix, the blocks they hold.
func allocatedBytes(t *testing.T, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		n += diskUsage(fi)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The segment grows in steps as records fill it, each new size durable
// before a record is written into it, the last step capped at the segment
// size, where the journal moves on.
func TestSegmentGrowsInSteps(t *testing.T) {
	m := vfs.NewMem()
	j := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 128 << 10, firstAlloc: 4096})
	var sizes []int64
	var acked []string
	for k := 0; ; k++ {
		if _, err := j.Append(bg, payload(k)); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, string(payload(k)))
		if j.seg.base != 0 {
			break // rotated
		}
		fi, err := m.Stat(j.seg.path)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(sizes); n == 0 || sizes[n-1] != fi.Size() {
			sizes = append(sizes, fi.Size())
		}
		// A power cut now keeps every record: the size they were
		// written into was durable before they were.
		data, _, j2, err := readAll(m.Crash(0), "/j", nil)
		if err != nil {
			t.Fatal(err)
		}
		j2.Close()
		if !slices.Equal(data, acked) {
			t.Fatalf("after %d records and a power cut: %d records", len(acked), len(data))
		}
	}
	j.Close()
	want := []int64{4096, 4096 * growFactor, 128 << 10}
	if !slices.Equal(sizes, want) {
		t.Fatalf("the first segment went through sizes %v, want %v", sizes, want)
	}
	segs, _ := listSegments(m, "/j")
	if len(segs) != 2 {
		t.Fatalf("%d segments, want 2 (a rotation at the segment size)", len(segs))
	}
	fi, _ := m.Stat(filepath.Join("/j", segName(segs[1])))
	if fi.Size() != 4096 {
		t.Fatalf("the second segment starts at %d bytes, want 4096", fi.Size())
	}
}

// A record too large for the first allocation gets the space it needs at
// once, and one larger than the segment grows an empty segment or gets a
// segment of its own.
func TestGrowForLargeRecords(t *testing.T) {
	m := vfs.NewMem()
	j := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 64 << 10, firstAlloc: 4096})
	big := func(n int, b byte) []byte { return slices.Repeat([]byte{b}, n) }
	want := [][]byte{big(10000, 'a'), big(100, 'b'), big(100<<10, 'c'), big(30000, 'd')}
	for _, p := range want {
		if _, err := j.Append(bg, p); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	for _, fsys := range []*vfs.MemFS{m, m.Crash(0)} {
		data, _, j2, err := readAll(fsys, "/j", nil)
		if err != nil {
			t.Fatal(err)
		}
		j2.Close()
		if len(data) != len(want) {
			t.Fatalf("%d records, want %d", len(data), len(want))
		}
		for i := range want {
			if data[i] != string(want[i]) {
				t.Fatalf("record %d differs", i)
			}
		}
	}
}

// Crash-point enumeration over appends that grow segments (each extension
// is an allocation and a full fsync) and rotate: a crash before, during or
// after an extension, in every way the model allows (the size old, new or
// in between; unsynced data lost, torn or zeroed), loses no acknowledged
// record and leaves a log that opens, verifies, and recovers the same way
// twice.
func TestCrashGrow(t *testing.T) {
	m := vfs.NewMem()
	r := newRecorder(m, crashSeeds)
	attempted := map[string]bool{}
	j, err := Open("/j", &Options{FS: m, SegmentSize: 16 << 10, firstAlloc: 4096})
	if err != nil {
		t.Fatal(err)
	}
	grows := 0
	last := j.seg.size
	for k := range 140 {
		p := payload(k)
		attempted[string(p)] = true
		if _, err := j.Append(bg, p); err != nil {
			t.Fatal(err)
		}
		r.ack(string(p))
		if j.seg.size > last {
			grows++
		}
		last = j.seg.size
	}
	j.Close()
	states, _ := checkStates(t, r, attempted, true)
	segs, _ := listSegments(m, "/j")
	if grows < 2 || len(segs) < 2 {
		t.Fatalf("the workload grew segments %d times over %d segments; it should grow several and rotate", grows, len(segs))
	}
	t.Logf("%d crash states, %d extensions, %d segments", states, grows, len(segs))
}
