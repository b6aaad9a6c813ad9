package journal_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/bench"
	"github.com/durable-go/durable/journal"
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
	for _, n := range []int{8, 64} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			j, err := journal.Open(b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			data := make([]byte, 128)
			b.SetParallelism((n + 1) / 2) // GOMAXPROCS is 2 on the CI machine
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := j.Append(context.Background(), data); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
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
