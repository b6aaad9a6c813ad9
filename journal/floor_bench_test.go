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
)

// TestBenchFloorReport interleaves, at many writers (256 by default,
// DURABLE_BENCH_WRITERS), the journal and the bench's group-commit floor
// that writes zeros ahead as the journal does (bench.GroupAppender,
// ZeroAhead), the floor with 128-byte records and with 160-byte ones (a
// journal frame's size: is the disk byte-bound at these batches?), in
// rounds of one second (DURABLE_BENCH_ROUNDS), and prints each one's
// median appends/s and CPU per append; it runs only with DURABLE_BENCH=1
// (set TMPDIR to the filesystem to measure; on tmpfs it measures CPU).
func TestBenchFloorReport(t *testing.T) {
	if os.Getenv("DURABLE_BENCH") != "1" {
		t.Skip("set DURABLE_BENCH=1 to measure")
	}
	writers, rounds := 256, 7
	if s := os.Getenv("DURABLE_BENCH_WRITERS"); s != "" {
		writers, _ = strconv.Atoi(s)
	}
	if s := os.Getenv("DURABLE_BENCH_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	dir := t.TempDir()
	j, err := journal.Open(filepath.Join(dir, "j"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var gs [2]*bench.GroupAppender
	for k := range gs {
		d := filepath.Join(dir, "g"+strconv.Itoa(k))
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		g, err := bench.NewGroupAppender(d, 64<<20)
		if err != nil {
			t.Fatal(err)
		}
		g.ZeroAhead = true
		defer g.Close()
		gs[k] = g
	}
	data, frame := make([]byte, 128), make([]byte, 160)
	names := []string{"journal", "floor 128 B", "floor 160 B"}
	contenders := []func() error{
		func() error { _, err := j.Append(context.Background(), data); return err },
		func() error { return gs[0].Append(data) },
		func() error { return gs[1].Append(frame) },
	}
	n := len(contenders)
	rates, cpus := interleaveWriters(t, writers, rounds, contenders)
	med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	for c := range n {
		ratios := make([]float64, rounds)
		for i := range ratios {
			ratios[i] = rates[c][i] / rates[1][i]
		}
		t.Logf("%d writers, %s: %.0f appends/s (%.2f of the 128 B floor, per round %.2f-%.2f), CPU %.2f µs per append",
			writers, names[c], med(rates[c]), med(ratios), slices.Min(ratios), slices.Max(ratios), med(cpus[c])/1e3)
	}
}

// interleaveWriters runs each contender in turn, writers goroutines calling
// it for one second, rounds times, rotating which goes first each round,
// and returns for each contender its appends per second and CPU
// nanoseconds per append in every round.
func interleaveWriters(t *testing.T, writers, rounds int, contenders []func() error) (rates, cpus [][]float64) {
	n := len(contenders)
	rates, cpus = make([][]float64, n), make([][]float64, n)
	for round := range rounds {
		for k := range n {
			c := (round + k) % n
			var ops atomic.Int64
			stop := time.Now().Add(time.Second)
			cpu0 := cpuTime()
			start := time.Now()
			var wg sync.WaitGroup
			for range writers {
				wg.Go(func() {
					for time.Now().Before(stop) {
						if err := contenders[c](); err != nil {
							t.Error(err)
							return
						}
						ops.Add(1)
					}
				})
			}
			wg.Wait()
			done := float64(ops.Load())
			rates[c] = append(rates[c], done/time.Since(start).Seconds())
			cpus[c] = append(cpus[c], float64(cpuTime()-cpu0)/done)
		}
	}
	return rates, cpus
}
