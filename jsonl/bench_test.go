package jsonl_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/durable-go/durable/jsonl"
)

// Append of a 200-byte object against the raw syscalls it is built from
// (one write on an O_APPEND descriptor, then fdatasync), from 1 and from 16
// goroutines. Append adds the lock, the line-boundary check and the JSON
// encoding; with 16 goroutines group commit shares one fdatasync among many
// lines, where the raw loop pays one per line. Each reports lines/s; compare
// the pairs, run in the same go test invocation, with benchstat.

type benchEvent struct {
	Type string `json:"type"`
	Seq  int    `json:"seq"`
	Text string `json:"text"`
}

func benchValue() benchEvent {
	v := benchEvent{Type: "message", Seq: 1}
	v.Text = strings.Repeat("x", 200-len(`{"type":"message","seq":1,"text":""}`))
	return v
}

func BenchmarkAppend(b *testing.B) {
	f, err := jsonl.Open(filepath.Join(b.TempDir(), "log.jsonl"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	v := benchValue()
	ctx := context.Background()
	b.SetBytes(201)
	for b.Loop() {
		if err := f.Append(ctx, v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkRawAppend(b *testing.B) {
	raw, line := openRaw(b)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if err := rawAppend(raw, line); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkAppend16(b *testing.B) {
	f, err := jsonl.Open(filepath.Join(b.TempDir(), "log.jsonl"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	v := benchValue()
	b.SetBytes(201)
	b.SetParallelism(sixteen())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := f.Append(context.Background(), v); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// Sixteen goroutines writing and fdatasyncing one shared O_APPEND
// descriptor, each for itself: what concurrent appenders get without group
// commit (and without the lock or the boundary check).
func BenchmarkRawAppend16(b *testing.B) {
	raw, line := openRaw(b)
	b.SetBytes(int64(len(line)))
	b.SetParallelism(sixteen())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := rawAppend(raw, line); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func openRaw(b *testing.B) (*os.File, []byte) {
	raw, err := os.OpenFile(filepath.Join(b.TempDir(), "raw.jsonl"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { raw.Close() })
	line := []byte(`{"type":"message","seq":1,"text":"` + benchValue().Text + "\"}\n")
	return raw, line
}

// sixteen is the RunParallel parallelism that gives 16 goroutines.
func sixteen() int { return max(1, 16/runtime.GOMAXPROCS(0)) }

// Opening a large file and appending one line, as each `durable jsonl
// append` does: Open (directory fsync, lock, the tail check), Append,
// Close, against the raw floor of the same step (open O_APPEND, one write,
// fdatasync, close) and against what Open cost before it read only the
// end (Repair, which reads every line). The file is 16 MiB by default, so
// that CI stays fast; DURABLE_BENCH_JSONL_MB sets another size (1024 for
// the 1 GB file). Compare ns/op in one run: Open+append should stay
// a small multiple of the raw floor whatever the size, where the full read
// grows with it.

func BenchmarkOpenAppendLarge(b *testing.B) {
	path := largeFile(b)
	v := benchValue()
	ctx := context.Background()
	for b.Loop() {
		f, err := jsonl.Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Append(ctx, v); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawOpenAppendLarge(b *testing.B) {
	path := largeFile(b)
	line := []byte(`{"type":"message","seq":1,"text":"` + benchValue().Text + "\"}\n")
	for b.Loop() {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := rawAppend(f, line); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// The full read that Open made before, and that Repair and fsck make.
func BenchmarkRepairLarge(b *testing.B) {
	path := largeFile(b)
	for b.Loop() {
		if _, err := jsonl.Repair(path, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// largeFile writes a JSON Lines file of DURABLE_BENCH_JSONL_MB (16 by
// default) MiB of 200-byte lines in a temporary directory, once per
// benchmark.
func largeFile(b *testing.B) string {
	b.Helper()
	mb := 16
	if s := os.Getenv("DURABLE_BENCH_JSONL_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("DURABLE_BENCH_JSONL_MB=%q: want a positive number of MiB", s)
		}
		mb = n
	}
	path := filepath.Join(b.TempDir(), "large.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	line := []byte(`{"type":"message","seq":1,"text":"` + benchValue().Text + "\"}\n")
	chunk := bytes.Repeat(line, (1<<20)/len(line))
	for written := 0; written < mb<<20; written += len(chunk) {
		if _, err := f.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}
