package journal

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// A catch-up asks for the segment's size only when its scan stops at the
// size it knew, and reads straight at the end (no peek) when the last one
// found others' records: against the plain path (a reader that opens the
// directory afresh), two handles that take turns at random, with records
// of random sizes that make the other grow the segment past what it knew
// and rotate, must agree on every record and every root, with the marks
// (shared flushes) and without.
func TestCatchUpDifferential(t *testing.T) {
	for _, marks := range []bool{false, true} {
		t.Run(fmt.Sprintf("marks=%v", marks), func(t *testing.T) {
			for seed := range uint64(8) {
				catchUpRound(t, marks, seed)
			}
		})
	}
}

func catchUpRound(t *testing.T, marks bool, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 23))
	m := vfs.NewMem()
	if marks {
		withLockFile(t, m)
	}
	o := &Options{FS: m, SegmentSize: 256 << 10, firstAlloc: 4096}
	hs := []*Journal{mustOpen(t, "/j", o), mustOpen(t, "/j", o)}
	defer func() {
		for _, h := range hs {
			h.Close()
		}
	}()
	var want []string
	for step := range 300 {
		h := hs[rng.IntN(2)]
		n := 1 + rng.IntN(4)
		batch := make([][]byte, n)
		for i := range batch {
			// Mostly small records, sometimes one that crosses a
			// growth step of the other handle's known size.
			size := 1 + rng.IntN(200)
			if rng.IntN(8) == 0 {
				size = 1000 + rng.IntN(6000)
			}
			batch[i] = []byte(fmt.Sprintf("%d/%d|%s", step, i, strings.Repeat("x", size)))
		}
		first, err := h.AppendBatch(bg, batch)
		if err != nil {
			t.Fatalf("seed %d step %d: %v", seed, step, err)
		}
		if first != uint64(len(want)) {
			t.Fatalf("seed %d step %d: first index %d, want %d", seed, step, first, len(want))
		}
		for _, p := range batch {
			want = append(want, string(p))
		}
		if rng.IntN(4) != 0 {
			continue
		}
		// Both handles catch up (Head takes the lock); a fresh reader
		// is the plain path.
		r := mustOpen(t, "/j", &Options{FS: m, ReadOnly: true})
		size, root, err := r.Head(bg)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rec, err := range r.Scan(0) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(rec.Payload))
		}
		r.Close()
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d step %d: a fresh reader finds %d records, want %d (or different ones)", seed, step, len(got), len(want))
		}
		for k, h := range hs {
			hsize, hroot, err := h.Head(bg)
			if err != nil {
				t.Fatal(err)
			}
			if hsize != size || hroot != root || size != uint64(len(want)) {
				t.Fatalf("seed %d step %d: handle %d at %d records (root %x), a fresh reader at %d (%x), want %d",
					seed, step, k, hsize, hroot[:4], size, root[:4], len(want))
			}
		}
	}
}

// zeroAhead writes zeros only past the log's end and within the segment's
// allocated size: the records stay as written, nothing after the end is
// anything but zeros, and the file is never longer than grow made it.
func TestZeroAheadStaysPastTheEnd(t *testing.T) {
	m := vfs.NewMem()
	j := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 256 << 10, firstAlloc: 4096})
	defer j.Close()
	var sizes []int64
	ahead := 0 // batches after which zeros lay ahead of the end
	for k := range 400 {
		if _, err := j.AppendBatch(bg, [][]byte{payload(k), []byte(strings.Repeat("z", k*37%6000))}); err != nil {
			t.Fatal(err)
		}
		data, err := vfs.ReadFile(m, j.seg.path)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) != j.seg.size || j.zeroed > j.seg.size {
			t.Fatalf("after %d batches: the segment is %d bytes, grown to %d, zeroed to %d", k+1, len(data), j.seg.size, j.zeroed)
		}
		for i, b := range data[j.end:] {
			if b != 0 {
				t.Fatalf("after %d batches: byte %d after the end (%d) is %#x", k+1, i, j.end, b)
			}
		}
		if j.zeroed > j.end {
			ahead++
		}
		if n := len(sizes); n == 0 || sizes[n-1] != j.seg.size {
			sizes = append(sizes, j.seg.size)
		}
	}
	if ahead == 0 {
		t.Fatal("no batch zeroed ahead of the end")
	}
	if len(sizes) < 2 {
		t.Fatalf("the segment went through sizes %v: the test should make it grow", sizes)
	}
	data, _, r, err := readAll(m.Crash(0), "/j", &Options{SegmentSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	for k := range 400 {
		if data[2*k] != string(payload(k)) {
			t.Fatalf("record %d after a power cut: %.20q", 2*k, data[2*k])
		}
	}
}
