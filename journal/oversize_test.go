package journal

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// A record larger than a segment gets room, whether the segment that
// cannot hold it is the log's first, an empty one a crash left after a
// rotation, or one with records; and the log always opens again.
func TestRecordLargerThanASegment(t *testing.T) {
	big := func(k, n int) []byte { return bytes.Repeat([]byte{byte('A' + k)}, n) }
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, j *Journal) [][]byte // returns what it appended
	}{
		{"first record", func(t *testing.T, j *Journal) [][]byte { return nil }},
		{"after records", func(t *testing.T, j *Journal) [][]byte {
			var out [][]byte
			for k := range 5 {
				if _, err := j.Append(bg, payload(k)); err != nil {
					t.Fatal(err)
				}
				out = append(out, payload(k))
			}
			return out
		}},
		{"empty last segment", func(t *testing.T, j *Journal) [][]byte {
			if _, err := j.Append(bg, payload(0)); err != nil {
				t.Fatal(err)
			}
			// What a crash between creating a segment and writing to
			// it leaves: the old one sealed, the new one empty.
			if err := j.do(bg, "rotate", func() error { return j.rotate(4096) }); err != nil {
				t.Fatal(err)
			}
			return [][]byte{payload(0)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := vfs.NewMem()
			o := &Options{FS: m, SegmentSize: 4096}
			j := mustOpen(t, "/j", o)
			want := tc.setup(t, j)
			j.Close()
			// The empty last segment survives a reopen as it is.
			j = mustOpen(t, "/j", o)
			for k, n := range []int{20 << 10, 9000, 50} {
				p := big(k, n)
				if _, err := j.Append(bg, p); err != nil {
					t.Fatalf("append of %d bytes: %v", n, err)
				}
				want = append(want, p)
			}
			j.Close()
			checkData(t, m, "/j", want)
			// And every crash state of that history opens with every
			// acknowledged record (all were synced).
			for seed := uint64(0); seed < 40; seed++ {
				checkData(t, m.Crash(seed), "/j", want)
			}
		})
	}
}

// checkData opens the log, checks that it holds exactly want, and that it
// verifies and keeps appending.
func checkData(t *testing.T, fsys vfs.FS, dir string, want [][]byte) {
	t.Helper()
	got, notes, j, err := readAll(fsys, dir, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer j.Close()
	if len(notes) != 0 {
		t.Errorf("unexpected notes: %v", notes)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != string(want[i]) {
			t.Fatalf("record %d differs (%d bytes, want %d)", i, len(got[i]), len(want[i]))
		}
	}
	if _, err := Verify(bg, dir, &VerifyOptions{FS: fsys}); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// Another handle (another process) that still has the segment open at its
// old size catches up with the record that grew it, and a follower sees it.
func TestGrownSegmentSeenByOthers(t *testing.T) {
	m := vfs.NewMem()
	o := &Options{FS: m, SegmentSize: 4096}
	a := mustOpen(t, "/j", o)
	defer a.Close()
	b := mustOpen(t, "/j", o)
	defer b.Close()
	got := make(chan Record, 1)
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	go func() {
		for r, err := range a.Follow(ctx, 0) {
			if err == nil {
				got <- r
			}
			return
		}
	}()
	p := bytes.Repeat([]byte("x"), 30<<10)
	if _, err := b.Append(bg, p); err != nil {
		t.Fatal(err)
	}
	if i, err := a.Append(bg, []byte("small")); err != nil || i != 1 {
		t.Fatalf("append on the other handle: %d %v", i, err)
	}
	if r := <-got; !bytes.Equal(r.Payload, p) {
		t.Fatalf("follower got %d bytes", len(r.Payload))
	}
	a.Close()
	b.Close()
	checkData(t, m, "/j", [][]byte{p, []byte("small")})
}

// Earlier releases sealed a segment that held no records when the first
// record did not fit, then failed to create the next one (it would have had
// the same name), and every open after that refused the log as tampered.
// Such a log opens: the seal is cut as the leftover it is, and fsck's
// Verify reports it as a torn tail.
func TestSealInEmptySegmentIsCut(t *testing.T) {
	for _, withRecords := range []bool{false, true} {
		t.Run(fmt.Sprint("records before: ", withRecords), func(t *testing.T) {
			m := vfs.NewMem()
			o := &Options{FS: m, SegmentSize: 4096}
			j := mustOpen(t, "/j", o)
			var want [][]byte
			if withRecords {
				j.Append(bg, payload(1))
				j.do(bg, "rotate", func() error { return j.rotate(4096) })
				want = append(want, payload(1))
			}
			last := j.seg.path
			end := j.end
			next := j.next
			j.Close()
			d := readF(t, m, last)
			copy(d[end:], appendFrame(nil, typeSeal, next, 1, nil))
			writeF(t, m, last, d)
			rep, err := Verify(bg, "/j", &VerifyOptions{FS: m})
			if err != nil || rep.Torn == nil || rep.Torn.Offset != end {
				t.Fatalf("Verify: %v, torn %+v", err, rep.Torn)
			}
			j = mustOpen(t, "/j", o)
			if _, err := j.Append(bg, bytes.Repeat([]byte("y"), 10<<10)); err != nil {
				t.Fatal(err)
			}
			j.Close()
			want = append(want, bytes.Repeat([]byte("y"), 10<<10))
			got, notes, j, err := readAll(m, "/j", nil)
			if err != nil {
				t.Fatal(err)
			}
			j.Close()
			if len(got) != len(want) || got[len(got)-1] != string(want[len(want)-1]) {
				t.Fatalf("got %d records, want %d", len(got), len(want))
			}
			if len(notes) != 1 || !strings.Contains(string(notes[0].Payload), "torn tail") {
				t.Fatalf("notes: %v", notes)
			}
			ev, _ := m.ReadDir(filepath.Join("/j", evidenceDir))
			if len(ev) != 1 {
				t.Fatalf("evidence: %v", ev)
			}
		})
	}
}

// Crash at every step of a workload whose records outgrow the segments: a
// first record larger than a segment (which grows the log's first one),
// rotations, and a crash state left between creating a segment and
// writing to it. Every state opens with every acknowledged record.
func TestCrashOversizedRecords(t *testing.T) {
	m := vfs.NewMem()
	r := newRecorder(m, 8)
	attempted := map[string]bool{}
	j, err := Open("/j", &Options{FS: m, SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range []int{9000, 100, 5000, 200, 12000, 300} {
		p := string(bytes.Repeat([]byte{byte('a' + k)}, n))
		attempted[p] = true
		if _, err := j.Append(bg, []byte(p)); err != nil {
			t.Fatal(err)
		}
		r.ack(p)
	}
	j.Close()
	states, _ := checkStates(t, r, attempted, true)
	t.Logf("%d crash states", states)
}
