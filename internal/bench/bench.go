// Package bench measures durable's writes against the raw syscall sequence
// they are built from, interleaved in one run so that the machine's noise
// hits both sides alike. The CLI (durable bench) and the Go benchmarks both
// print from here.
package bench

import (
	"cmp"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/durable-go/durable"
)

// LatencyRow compares one write of Size bytes.
type LatencyRow struct {
	Size    int
	Durable time.Duration // median of WriteFile
	Raw     time.Duration // median of RawReplace
	Rounds  int
}

// Ratio is Durable/Raw: 1.0 means durable adds nothing.
func (r LatencyRow) Ratio() float64 { return float64(r.Durable) / float64(r.Raw) }

// Latency measures WriteFile and RawReplace of each size, alternating which
// goes first in each round, and returns their medians.
func Latency(dir string, sizes []int, rounds int) ([]LatencyRow, error) {
	var rows []LatencyRow
	for _, size := range sizes {
		data := payload(size)
		dur, raw, err := latencies(rounds, 2, func() error {
			return durable.WriteFile(filepath.Join(dir, "lat-durable"), data, 0o644)
		}, func() error {
			return RawReplace(dir, "lat-raw", data, "lat-raw.tmp")
		})
		if err != nil {
			return nil, err
		}
		rows = append(rows, LatencyRow{Size: size, Durable: dur, Raw: raw, Rounds: rounds})
	}
	return rows, nil
}

// latencies times a and b once each a round, taking turns at going first,
// for warm rounds and then rounds more, and returns the median time of
// each over the last rounds (the warm-up rounds are dropped). It stops at
// the first round in which either fails.
func latencies(rounds, warm int, a, b func() error) (time.Duration, time.Duration, error) {
	var as, bs []time.Duration
	timed := func(fn func() error, into *[]time.Duration, i int) error {
		start := time.Now()
		err := fn()
		if i >= warm {
			*into = append(*into, time.Since(start))
		}
		return err
	}
	for i := range rounds + warm {
		var errA, errB error
		if i%2 == 0 {
			errA = timed(a, &as, i)
			errB = timed(b, &bs, i)
		} else {
			errB = timed(b, &bs, i)
			errA = timed(a, &as, i)
		}
		if err := cmp.Or(errA, errB); err != nil {
			return 0, 0, err
		}
	}
	return median(as), median(bs), nil
}

// ThroughputRow compares operations per second of n concurrent writers.
type ThroughputRow struct {
	Name         string
	Writers      int
	Durable, Raw float64 // operations per second
}

// Ratio is Durable/Raw throughput: above 1.0 durable is faster.
func (r ThroughputRow) Ratio() float64 { return r.Durable / r.Raw }

// Concurrent measures n goroutines replacing n different files in one
// directory, and n goroutines replacing one file, each for d per side,
// alternating sides three times.
func Concurrent(dir string, n, size int, d time.Duration) ([]ThroughputRow, error) {
	data := payload(size)
	var rows []ThroughputRow
	for _, same := range []bool{false, true} {
		name := fmt.Sprintf("%d writers, %d files", n, n)
		if same {
			name = fmt.Sprintf("%d writers, 1 file", n)
		}
		side := func(durableSide bool) func() (int64, time.Duration, error) {
			return func() (int64, time.Duration, error) {
				return hammer(dir, n, d, func(g, seq int) error {
					file := "c" + strconv.Itoa(g)
					if same {
						file = "c-same"
					}
					if durableSide {
						return durable.WriteFile(filepath.Join(dir, "d-"+file), data, 0o644)
					}
					return RawReplace(dir, "r-"+file, data, "r-"+strconv.Itoa(g)+"-"+strconv.Itoa(seq)+".tmp")
				})
			}
		}
		row := ThroughputRow{Name: name, Writers: n}
		var err error
		row.Durable, row.Raw, err = alternate(side(true), side(false))
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// alternate runs the measurements a and b three times each, in the order
// a b, b a, a b, and returns each one's operations per second over its
// three runs. A machine whose pace changes during the run (a shared VM's
// does, by 2x, within seconds) then slows both sides alike: measured once
// each, back to back, one build's 16-goroutine speedup came out anywhere
// between 6x and 10x.
func alternate(a, b func() (int64, time.Duration, error)) (float64, float64, error) {
	sides := [2]func() (int64, time.Duration, error){a, b}
	var ops [2]int64
	var took [2]time.Duration
	for i := range 3 {
		for _, j := range [2]int{i % 2, 1 - i%2} {
			n, el, err := sides[j]()
			if err != nil {
				return 0, 0, err
			}
			ops[j] += n
			took[j] += el
		}
	}
	return float64(ops[0]) / took[0].Seconds(), float64(ops[1]) / took[1].Seconds(), nil
}

// hammer runs op in n goroutines until d has passed and counts the calls.
func hammer(dir string, n int, d time.Duration, op func(g, seq int) error) (int64, time.Duration, error) {
	var ops atomic.Int64
	var first error
	var once sync.Once
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			for seq := 0; time.Now().Before(stop); seq++ {
				if err := op(g, seq); err != nil {
					once.Do(func() { first = err })
					return
				}
				ops.Add(1)
			}
		})
	}
	wg.Wait()
	return ops.Load(), time.Since(start), first
}

func payload(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// PrintLatency writes rows as a Markdown table.
func PrintLatency(w io.Writer, rows []LatencyRow) {
	fmt.Fprintf(w, "| size | WriteFile median | raw sequence median | ratio |\n|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %v | %v | %.2f |\n", Size(r.Size), r.Durable.Round(time.Microsecond), r.Raw.Round(time.Microsecond), r.Ratio())
	}
}

// PrintThroughput writes rows as a Markdown table.
func PrintThroughput(w io.Writer, rows []ThroughputRow) {
	fmt.Fprintf(w, "| workload | WriteFile ops/s | raw sequence ops/s | ratio |\n|---|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.2f |\n", r.Name, r.Durable, r.Raw, r.Ratio())
	}
}

// Size formats a byte count the way the tables show it.
func Size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}
