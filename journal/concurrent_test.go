package journal

import (
	"context"
	"fmt"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// Two handles on one directory (as two processes would have, with the real
// cross-process lock), many goroutines each, segments small enough to
// rotate and allocated in small steps, so that each handle grows segments
// the other has a stale size of: every index is handed out once, holds what its caller appended,
// and a follower sees every record in order while it is being written.
func TestConcurrentHandlesAndFollow(t *testing.T) {
	dir := testdir.New(t)
	opts := &Options{SegmentSize: 64 << 10, firstAlloc: 4096}
	a := mustOpen(t, dir, opts)
	b := mustOpen(t, dir, opts)
	f := mustOpen(t, dir, &Options{ReadOnly: true})
	defer f.Close()

	const goroutines, each = 8, 60
	total := 2 * goroutines * each
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	followed := make(chan []Record, 1)
	go func() {
		var got []Record
		for r, err := range f.Follow(ctx, 0) {
			if err != nil {
				t.Error(err)
				break
			}
			got = append(got, r)
			if len(got) == total {
				break
			}
		}
		followed <- got
	}()

	var mu sync.Mutex
	byIndex := map[uint64]string{}
	var wg sync.WaitGroup
	for h, j := range []*Journal{a, b} {
		for g := range goroutines {
			wg.Go(func() {
				for k := range each {
					p := fmt.Sprintf("h%d-g%d-k%d-%090d", h, g, k, k)
					i, err := j.Append(ctx, []byte(p))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if old, dup := byIndex[i]; dup {
						t.Errorf("index %d handed out twice: %s and %s", i, old, p)
					}
					byIndex[i] = p
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	a.Close()
	b.Close()
	got := <-followed
	if len(got) != total {
		t.Fatalf("follower saw %d records, want %d", len(got), total)
	}
	for n, r := range got {
		if r.Index != uint64(n) || byIndex[r.Index] != string(r.Payload) {
			t.Fatalf("follower record %d: index %d payload %q, appended %q", n, r.Index, r.Payload, byIndex[r.Index])
		}
	}
	rep, err := Verify(context.Background(), dir, nil)
	if err != nil || rep.Size != uint64(total) || rep.Segments < 2 {
		t.Fatalf("Verify: %v %+v", err, rep)
	}
	// The read-only handle catches up too.
	if size, root, err := f.Head(context.Background()); err != nil || size != uint64(total) || root != rep.Root {
		t.Fatalf("read-only Head: %d %v %v, want %d %v", size, root, err, total, rep.Root)
	}
}

// Concurrent appenders share flushes: far fewer flushes than appends.
// Flushes take a while, as a disk's do: on the model they take no time,
// and on a busy machine appenders then seldom arrive together.
func TestGroupCommitSharesFlushes(t *testing.T) {
	m := vfs.NewMem()
	probe := vfs.Inject(m, vfs.Fault{Ops: vfs.OpSync})
	j := mustOpen(t, "/j", &Options{FS: slowSyncs{probe, 200 * time.Microsecond}, SegmentSize: 1 << 20})
	before := probe.Count()
	var wg sync.WaitGroup
	const writers, each = 64, 20
	for g := range writers {
		wg.Go(func() {
			for k := range each {
				if _, err := j.Append(bg, fmt.Appendf(nil, "%d-%d", g, k)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	j.Close()
	flushes := probe.Count() - before
	t.Logf("%d appends, %d flushes", writers*each, flushes)
	if flushes >= writers*each/4 {
		t.Fatalf("%d flushes for %d concurrent appends: group commit is not sharing them", flushes, writers*each)
	}
}

// A cancelled context is refused before anything is written.
func TestAppendHonoursContext(t *testing.T) {
	j := mustOpen(t, "/j", &Options{FS: vfs.NewMem(), SegmentSize: 4096})
	defer j.Close()
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := j.Append(ctx, []byte("x")); err == nil {
		t.Fatal("append with a cancelled context succeeded")
	}
	if j.Size() != 0 {
		t.Fatal("something was appended")
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(bg, []byte("x")); err == nil {
		t.Fatal("append after Close succeeded")
	}
}

// With HoldLock the journal keeps the lock from Open to Close: a second
// writer cannot open it meanwhile, and can once it is closed.
func TestHoldLock(t *testing.T) {
	m := vfs.NewMem()
	a := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 4096, HoldLock: true})
	for k := range 40 {
		if _, err := a.Append(bg, payload(k)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		b, err := Open("/j", &Options{FS: m, SegmentSize: 4096})
		if err == nil {
			_, err = b.Append(bg, []byte("second writer"))
			b.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a second writer opened the journal while it was held: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	a.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	data, _, j, err := readAll(m, "/j", nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if len(data) != 41 || data[40] != "second writer" {
		t.Fatalf("%d records", len(data))
	}
}

// Requests are recycled once their batch answers them; callers that leave
// early (their context ends while their batch runs) keep theirs out of
// the pool. Under many writers with contexts cancelled at random, every
// acknowledged index holds its caller's record (run with -race).
func TestAppendRecyclesOnlyAnsweredRequests(t *testing.T) {
	m := vfs.NewMem()
	j := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 64 << 10})
	var mu sync.Mutex
	acked := map[uint64]string{}
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for k := range 40 {
				p := fmt.Sprintf("g%d-k%d", g, k)
				ctx, cancel := context.WithCancel(bg)
				if k%3 == 0 {
					go cancel()
				}
				var i uint64
				var err error
				if k%2 == 0 {
					i, err = j.Append(ctx, []byte(p))
				} else {
					i, err = j.AppendBatch(ctx, [][]byte{[]byte(p)})
				}
				cancel()
				if err != nil {
					continue
				}
				mu.Lock()
				acked[i] = p
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for r, err := range j.Scan(0) {
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := acked[r.Index]; ok && p != string(r.Payload) {
			t.Fatalf("index %d holds %q, its caller appended %q", r.Index, r.Payload, p)
		}
		delete(acked, r.Index)
	}
	j.Close()
	if len(acked) > 0 {
		t.Fatalf("%d acknowledged records missing", len(acked))
	}
}

// slowSyncs makes every Sync of a file of FS take d longer.
type slowSyncs struct {
	vfs.FS
	d time.Duration
}

func (s slowSyncs) Unwrap() vfs.FS { return s.FS }

func (s slowSyncs) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := s.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return slowFile{f, s.d}, nil
}

type slowFile struct {
	vfs.File
	d time.Duration
}

func (f slowFile) Sync() error {
	time.Sleep(f.d)
	return f.File.Sync()
}
