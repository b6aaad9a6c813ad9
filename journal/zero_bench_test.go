package journal

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
)

// TestBenchZeroAheadReport interleaves, in one run, the journal as it is
// and the journal without zeroAhead (appends then land in allocated but
// unwritten blocks, whose every flush also commits an extent conversion),
// in rounds of one second (DURABLE_BENCH_ROUNDS shares 7 s in that many) at 1 and 256 writers on the test's directory
// (set TMPDIR to the filesystem to measure), and prints the medians and
// their ratio; it runs only with DURABLE_BENCH=1.
func TestBenchZeroAheadReport(t *testing.T) {
	if os.Getenv("DURABLE_BENCH") != "1" {
		t.Skip("set DURABLE_BENCH=1 to measure")
	}
	for _, writers := range []int{1, 256} {
		if s := os.Getenv("DURABLE_BENCH_WRITERS"); s != "" && s != strconv.Itoa(writers) {
			continue
		}
		var js [2]*Journal
		for k := range js {
			js[k] = mustOpen(t, filepath.Join(t.TempDir(), "j"), &Options{noZeroAhead: k == 1})
			defer js[k].Close()
		}
		data := make([]byte, 128)
		rounds, round := 7, time.Second
		if s := os.Getenv("DURABLE_BENCH_ROUNDS"); s != "" {
			rounds, _ = strconv.Atoi(s)
			round = 7 * time.Second / time.Duration(rounds)
		}
		var rates [2][]float64
		for r := range rounds {
			for i := range 2 {
				c := (r + i) % 2
				var ops atomic.Int64
				stop := time.Now().Add(round)
				start := time.Now()
				var wg sync.WaitGroup
				for range writers {
					wg.Go(func() {
						for time.Now().Before(stop) {
							if _, err := js[c].Append(context.Background(), data); err != nil {
								t.Error(err)
								return
							}
							ops.Add(1)
						}
					})
				}
				wg.Wait()
				rates[c] = append(rates[c], float64(ops.Load())/time.Since(start).Seconds())
			}
		}
		med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
		ratios := make([]float64, rounds)
		for i := range ratios {
			ratios[i] = rates[0][i] / rates[1][i]
		}
		t.Logf("%d writers, %d rounds of %v: zeroAhead %.0f appends/s, without %.0f/s: ratio of medians %.2f, per round %.2f-%.2f (median %.2f)",
			writers, rounds, round, med(rates[0]), med(rates[1]), med(rates[0])/med(rates[1]), slices.Min(ratios), slices.Max(ratios), med(ratios))
	}
}

// TestBenchZeroAheadOneShot is TestBenchZeroAheadReport for a process
// that opens the journal, appends one record and closes it (a command-line
// append), on a log of a few thousand records: its first append zeros a
// step that the last such process may have zeroed already.
func TestBenchZeroAheadOneShot(t *testing.T) {
	if os.Getenv("DURABLE_BENCH") != "1" {
		t.Skip("set DURABLE_BENCH=1 to measure")
	}
	var dirs [2]string
	data := make([]byte, 128)
	for k := range dirs {
		dirs[k] = filepath.Join(t.TempDir(), "j")
		j := mustOpen(t, dirs[k], &Options{noZeroAhead: k == 1})
		for range 5000 {
			if _, err := j.Append(bg, data); err != nil {
				t.Fatal(err)
			}
		}
		j.Close()
	}
	const rounds, each = 15, 20
	var per [2][]float64
	for r := range rounds {
		for i := range 2 {
			c := (r + i) % 2
			start := time.Now()
			for range each {
				j := mustOpen(t, dirs[c], &Options{noZeroAhead: c == 1})
				if _, err := j.Append(bg, data); err != nil {
					t.Fatal(err)
				}
				j.Close()
			}
			per[c] = append(per[c], float64(time.Since(start))/each/1e3)
		}
	}
	med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	t.Logf("open, append one, close, %d rounds of %d: zeroAhead %.0f µs, without %.0f µs: ratio of medians %.2f",
		rounds, each, med(per[0]), med(per[1]), med(per[0])/med(per[1]))
}
