package bench

import (
	"bytes"
	"fmt"
	"github.com/durable-go/durable/internal/testdir"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// record returns a record of n bytes that names writer g's i-th append.
func record(g, i, n int) []byte {
	r := bytes.Repeat([]byte{'.'}, n)
	copy(r, fmt.Sprintf("<%d-%d>", g, i))
	return r
}

// appendAll has writers goroutines append each records records through
// app, and checks that every record is in the file afterwards, whole.
func appendAll(t *testing.T, app func([]byte) error, file string, writers, records int) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range records {
				if err := app(record(g, i, 32)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for g := range writers {
		for i := range records {
			if !bytes.Contains(data, record(g, i, 32)) {
				t.Fatalf("record %d of writer %d is not in the file", i, g)
			}
		}
	}
}

// newGroup opens a GroupAppender of size bytes in a new directory, closed
// when the test ends.
func newGroup(t *testing.T, size int64) (string, *GroupAppender) {
	t.Helper()
	dir := testdir.New(t)
	g, err := NewGroupAppender(dir, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return dir, g
}

func TestGroupAppenderKeepsEveryRecord(t *testing.T) {
	dir, g := newGroup(t, 1<<20)
	appendAll(t, g.Append, filepath.Join(dir, "group-floor"), 16, 20)
	if g.synced != 16*20 {
		t.Errorf("%d records acknowledged, want %d", g.synced, 16*20)
	}
}

// The floors never write where they wrote before (see space): when the
// allocated space runs out they grow by a step, and every record stays.
func TestFloorsGrowInsteadOfWrapping(t *testing.T) {
	dir, g := newGroup(t, 256)
	r, err := NewRawAppender(dir, 256)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	appendAll(t, g.Append, filepath.Join(dir, "group-floor"), 4, 10)
	appendAll(t, r.Append, filepath.Join(dir, "raw-floor"), 4, 10)
	for _, name := range []string{"group-floor", "raw-floor"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		// 40 records of 32 bytes fill 1280 bytes: five steps of 256.
		if fi.Size() != 1280 {
			t.Errorf("%s is %d bytes, want 1280: five steps of 256", name, fi.Size())
		}
	}
}

func TestGroupAppenderFailsEveryoneAfterAFailedFlush(t *testing.T) {
	dir := testdir.New(t)
	g, err := NewGroupAppender(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	g.s.f.Close() // every later write fails
	if err := g.Append([]byte("x")); err == nil {
		t.Fatal("append to a closed file succeeded")
	}
	if err := g.Append([]byte("y")); err == nil {
		t.Fatal("append after a failed flush succeeded")
	}
}

func TestRawAppenderConcurrent(t *testing.T) {
	dir := testdir.New(t)
	r, err := NewRawAppender(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	appendAll(t, r.Append, filepath.Join(dir, "raw-floor"), 8, 10)
}

func TestRawReplacerConcurrent(t *testing.T) {
	dir := testdir.New(t)
	path := filepath.Join(dir, "target")
	replace := RawReplacer()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				if err := replace(path, record(g, i, 64)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 64 || data[0] != '<' {
		t.Errorf("target holds %q, want one whole record", data)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("%d entries left in the directory, want the target alone", len(ents))
	}
}

// A floor that zeros ahead keeps every record, and writes nothing but
// zeros past its records: each 8 KiB record is a flush large enough to
// zero ahead, and the file is read back after each one.
func TestGroupAppenderZeroAhead(t *testing.T) {
	dir, g := newGroup(t, 256<<10)
	g.ZeroAhead = true
	var want []byte
	for i := range 40 {
		rec := bytes.Repeat([]byte{byte(i + 1)}, 8<<10)
		if err := g.Append(rec); err != nil {
			t.Fatal(err)
		}
		want = append(want, rec...)
		data, err := os.ReadFile(filepath.Join(dir, "group-floor"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data[:len(want)], want) {
			t.Fatalf("after record %d the file does not hold the records written", i)
		}
		if tail := data[len(want):]; bytes.ContainsFunc(tail, func(r rune) bool { return r != 0 }) {
			t.Fatalf("after record %d something other than zeros lies past the records", i)
		}
		if g.zeroed < int64(len(want)) || g.zeroed > g.s.alloc.Load() {
			t.Fatalf("after record %d zeros end at %d, records at %d, allocated %d", i, g.zeroed, len(want), g.s.alloc.Load())
		}
	}
	if g.zeroed == int64(len(want)) {
		t.Error("no zeros were written ahead of the records")
	}
}
