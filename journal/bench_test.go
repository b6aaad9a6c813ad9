package journal_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/bench"
	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/vfs"
)

// The benchmarks pair Journal.Append with the raw floor (write +
// fdatasync into a preallocated file); "durable bench log", or
// TestBenchReport with DURABLE_BENCH=1, interleaves the two in one run
// and prints the ratios.

func BenchmarkAppend128(b *testing.B) {
	j, err := journal.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	data := make([]byte, 128)
	for b.Loop() {
		if _, err := j.Append(context.Background(), data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawFloor128(b *testing.B) {
	r, err := bench.NewRawAppender(b.TempDir(), journal.DefaultSegmentSize)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	data := make([]byte, 128)
	for b.Loop() {
		if err := r.Append(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendConcurrent(b *testing.B) {
	benchConcurrent(b, func(dir string) (func([]byte) error, func() error, error) {
		j, err := journal.Open(dir, nil)
		if err != nil {
			return nil, nil, err
		}
		return func(p []byte) error { _, err := j.Append(context.Background(), p); return err }, j.Close, nil
	})
}

// benchConcurrent runs n writers appending 128-byte records, for n of 8,
// 64 and 256, to what open makes in a fresh directory: the journal and the
// floors it is measured against run the same loop.
func benchConcurrent(b *testing.B, open func(dir string) (add func([]byte) error, close func() error, err error)) {
	for _, n := range []int{8, 64, 256} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			add, closeFn, err := open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer closeFn()
			data := make([]byte, 128)
			b.SetParallelism((n + 1) / 2) // GOMAXPROCS is 2 on the CI machine
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := add(data); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRawFloorConcurrent is the floor of BenchmarkAppendConcurrent:
// each writer reserves an offset of a preallocated file, writes its record
// there and flushes with fdatasync, sharing flushes only as the kernel
// does.
func BenchmarkRawFloorConcurrent(b *testing.B) {
	benchConcurrent(b, func(dir string) (func([]byte) error, func() error, error) {
		r, err := newConcurrentRaw(dir, journal.DefaultSegmentSize)
		if err != nil {
			return nil, nil, err
		}
		return r.append, r.f.Close, nil
	})
}

type concurrentRaw struct {
	f   *os.File
	off atomic.Int64
}

func newConcurrentRaw(dir string, size int64) (*concurrentRaw, error) {
	f, err := os.OpenFile(filepath.Join(dir, "raw-floor"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	err = vfs.Allocate(f, size)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &concurrentRaw{f: f}, nil
}

func (r *concurrentRaw) append(p []byte) error {
	end := r.off.Add(int64(len(p)))
	if end > journal.DefaultSegmentSize {
		r.off.Store(int64(len(p)))
		end = int64(len(p))
	}
	if _, err := r.f.WriteAt(p, end-int64(len(p))); err != nil {
		return err
	}
	return vfs.Datasync(r.f)
}

// BenchmarkGroupFloorConcurrent is the group-commit floor of
// BenchmarkAppendConcurrent: the least a group commit can do. Writers add
// their record to a buffer under a mutex; one of them writes the buffer
// with one pwrite into a preallocated file and one fdatasync while the
// next buffer fills, then wakes the writers it covered. No framing,
// checksum, tree, cross-process lock or context.
func BenchmarkGroupFloorConcurrent(b *testing.B) {
	benchConcurrent(b, func(dir string) (func([]byte) error, func() error, error) {
		r, err := newConcurrentRaw(dir, journal.DefaultSegmentSize)
		if err != nil {
			return nil, nil, err
		}
		g := &groupFloor{f: r.f, next: 1}
		g.cond = sync.NewCond(&g.mu)
		return g.append, r.f.Close, nil
	})
}

type groupFloor struct {
	mu       sync.Mutex
	cond     *sync.Cond
	f        *os.File
	off      int64
	buf      []byte
	spare    []byte
	next     uint64 // the batch records join now
	done     uint64 // the last batch written and flushed
	flushing bool
	err      error
}

func (g *groupFloor) append(p []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.buf = append(g.buf, p...)
	ticket := g.next
	for g.done < ticket {
		if g.flushing {
			g.cond.Wait()
			continue
		}
		g.flushing = true
		buf, id := g.buf, g.next
		g.buf, g.next = g.spare[:0], g.next+1
		if g.off+int64(len(buf)) > journal.DefaultSegmentSize {
			g.off = 0
		}
		off := g.off
		g.mu.Unlock()
		_, err := g.f.WriteAt(buf, off)
		if err == nil {
			err = vfs.Datasync(g.f)
		}
		g.mu.Lock()
		g.spare, g.off, g.done, g.flushing, g.err = buf, off+int64(len(buf)), id, false, err
		g.cond.Broadcast()
	}
	return g.err
}

func BenchmarkVerify(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "j")
	n, err := bench.LogBuild(dir, 16<<20, 128)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := journal.Verify(context.Background(), dir, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// TestBenchReport prints the Markdown tables; it runs only with
// DURABLE_BENCH=1 (DURABLE_BENCH_READ_MB sets the size of the log read).
func TestBenchReport(t *testing.T) {
	if os.Getenv("DURABLE_BENCH") != "1" {
		t.Skip("set DURABLE_BENCH=1 to measure")
	}
	mb := int64(256)
	if s := os.Getenv("DURABLE_BENCH_READ_MB"); s != "" {
		mb, _ = strconv.ParseInt(s, 10, 64)
	}
	if err := bench.Log(os.Stdout, t.TempDir(), 400, 3*time.Second, mb<<20); err != nil {
		t.Fatal(err)
	}
}

// TestBenchWritersReport interleaves the journal and the group-commit
// floor at many writers (rounds of one second each, alternating which goes
// first) and prints the medians, the ratio and the CPU per append; it runs
// only with DURABLE_BENCH=1 (DURABLE_BENCH_WRITERS sets the writers, 256
// by default).
func TestBenchWritersReport(t *testing.T) {
	if os.Getenv("DURABLE_BENCH") != "1" {
		t.Skip("set DURABLE_BENCH=1 to measure")
	}
	writers := 256
	if s := os.Getenv("DURABLE_BENCH_WRITERS"); s != "" {
		writers, _ = strconv.Atoi(s)
	}
	dir := t.TempDir()
	j, err := journal.Open(filepath.Join(dir, "j"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r, err := newConcurrentRaw(dir, journal.DefaultSegmentSize)
	if err != nil {
		t.Fatal(err)
	}
	defer r.f.Close()
	g := &groupFloor{f: r.f, next: 1}
	g.cond = sync.NewCond(&g.mu)
	data := make([]byte, 128)
	contenders := []func() error{
		func() error { _, err := j.Append(context.Background(), data); return err },
		func() error { return g.append(data) },
	}
	const rounds = 7
	rates, cpus := interleaveWriters(t, writers, rounds, contenders)
	med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	ratios := make([]float64, rounds)
	for i := range ratios {
		ratios[i] = rates[0][i] / rates[1][i]
	}
	t.Logf("%d writers, %d rounds of 1 s: journal %.0f appends/s, group-commit floor %.0f/s: ratio of medians %.2f, median of per-round ratios %.2f (range %.2f-%.2f); CPU per append %.1f µs vs %.1f µs (%.2fx)",
		writers, rounds, med(rates[0]), med(rates[1]), med(rates[0])/med(rates[1]), med(ratios), slices.Min(ratios), slices.Max(ratios),
		med(cpus[0])/1e3, med(cpus[1])/1e3, med(cpus[0])/med(cpus[1]))
}
