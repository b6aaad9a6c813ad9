package jsonl_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
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
