package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// plan sizes a run.
type plan struct {
	Scale     float64       // multiplies every workload's time budget
	MaxRounds int           // stop after this many rounds whatever the budget; 0 means no limit
	Slice     time.Duration // how long each contender runs per round when writers are concurrent
	ProbeOps  int           // operations each contender performs under strace
	// The sizes of issue 23's scale rows: large only in the full run.
	Backlog   int    // messages pending in the queue CLI pop workload
	JSONLSize int64  // bytes of the file the JSON Lines CLI append workload appends to
	DocSizes  []int  // document sizes of the one-field update workloads; 100 KB is always one
	tools     *tools // the durable binary, built once per run
}

// Result is one contender's numbers in one workload.
type Result struct {
	Contender Contender
	Median    time.Duration // median latency of one operation
	OpsPerSec float64
	Ops       int   // operations measured
	MaxRSS    int64 // peak resident memory of the operations' processes; 0 when they run in this one
	// PerRound is each counted round's measure: the latency in
	// nanoseconds with one writer, ops/s with several; 0 for a round the
	// contender missed. Ratios per round give a range beside the
	// overall ratio.
	PerRound []float64
	Err      error
}

// measure runs every contender of w in rotation until the budget is spent:
// in each round every contender gets a turn, and the order rotates from
// round to round, so that the machine's drift (page cache, journal, the
// disk's own cache, other tenants) falls on all of them alike instead of
// on whoever ran last. The first round warms up and is not counted.
func measure(w Workload, root string, p plan) []Result {
	results := make([]Result, len(w.Contenders))
	insts := make([]Instance, len(w.Contenders))
	for i, c := range w.Contenders {
		results[i].Contender = c
		dir := filepath.Join(root, w.ID, c.ID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			results[i].Err = err
			continue
		}
		inst, err := c.Open(dir, w.Writers)
		if err != nil {
			results[i].Err = fmt.Errorf("open: %w", err)
			continue
		}
		insts[i] = inst
	}
	defer func() {
		for i, inst := range insts {
			if inst != nil {
				if err := inst.Close(); err != nil && results[i].Err == nil {
					results[i].Err = fmt.Errorf("close: %w", err)
				}
			}
		}
	}()

	lat := make([][]time.Duration, len(insts))
	busy := make([]time.Duration, len(insts))
	ops := make([]int, len(insts))
	budget := time.Duration(float64(w.Budget) * p.Scale)
	start := time.Now()
	for round := 0; ; round++ {
		if p.MaxRounds > 0 && round >= p.MaxRounds {
			break
		}
		if round >= max(2, w.MinRounds+1) && time.Since(start) >= budget {
			break
		}
		ran := false
		for k := range insts {
			i := (round + k) % len(insts)
			if insts[i] == nil || results[i].Err != nil {
				continue
			}
			ran = true
			var l []time.Duration
			var el time.Duration
			var err error
			if sl, ok := insts[i].(slicer); ok {
				l, el, err = slice(sl, w.Writers, p.Slice)
			} else if w.Writers == 1 {
				l, el, err = one(insts[i])
			} else {
				l, el, err = concurrently(insts[i], w.Writers, w.Producers, p.Slice)
			}
			if err != nil {
				results[i].Err = err
				continue
			}
			if round > 0 {
				lat[i] = append(lat[i], l...)
				busy[i] += el
				ops[i] += len(l)
				for len(results[i].PerRound) < round-1 {
					results[i].PerRound = append(results[i].PerRound, 0) // a round it missed
				}
				if w.Writers == 1 {
					results[i].PerRound = append(results[i].PerRound, float64(median(l)))
				} else {
					results[i].PerRound = append(results[i].PerRound, float64(len(l))/el.Seconds())
				}
			}
		}
		if !ran {
			break
		}
	}
	for i := range results {
		if len(lat[i]) == 0 {
			continue
		}
		results[i].Median = median(lat[i])
		results[i].Ops = ops[i]
		results[i].OpsPerSec = float64(ops[i]) / busy[i].Seconds()
		if m, ok := insts[i].(memoryReporter); ok {
			results[i].MaxRSS = m.MaxRSS()
		}
	}
	return results
}

// slice has a slicer work for d. Its operations are not timed one by one:
// the one latency it returns is the mean time an operation took each of
// the writers (wall time × writers ÷ operations), and it counts for all
// the operations of the slice.
func slice(sl slicer, writers int, d time.Duration) ([]time.Duration, time.Duration, error) {
	n, el, err := sl.RunFor(d)
	if err != nil || n == 0 {
		if err == nil {
			err = fmt.Errorf("no operation completed in %v", el)
		}
		return nil, el, err
	}
	mean := el * time.Duration(writers) / time.Duration(n)
	l := make([]time.Duration, n)
	for i := range l {
		l[i] = mean
	}
	return l, el, nil
}

// one times a single call.
func one(inst Instance) ([]time.Duration, time.Duration, error) {
	t := time.Now()
	err := inst.Op(0)
	d := time.Since(t)
	return []time.Duration{d}, d, err
}

// concurrently runs Op in writers goroutines until d has passed and
// returns every call's latency and the time until the last call returned.
// The first producers goroutines only feed the others: their calls are
// not counted, and they go on until the others have stopped.
func concurrently(inst Instance, writers, producers int, d time.Duration) ([]time.Duration, time.Duration, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		all      []time.Duration
		first    error
		end      time.Duration
		counting sync.WaitGroup // the workers that are not producers
		stopped  atomic.Bool    // every counted worker has returned
	)
	start := time.Now()
	stop := start.Add(d)
	for g := range producers {
		wg.Go(func() {
			var err error
			for !stopped.Load() {
				if err = inst.Op(g); err != nil {
					break
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
		})
	}
	for g := producers; g < writers; g++ {
		counting.Add(1)
		wg.Go(func() {
			defer counting.Done()
			var mine []time.Duration
			var err error
			for time.Now().Before(stop) {
				t := time.Now()
				if err = inst.Op(g); err != nil {
					break
				}
				mine = append(mine, time.Since(t))
			}
			el := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			all = append(all, mine...)
			end = max(end, el)
			if err != nil && first == nil {
				first = err
			}
		})
	}
	counting.Wait()
	stopped.Store(true)
	wg.Wait()
	return all, end, first
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// roundRatios returns a's measure over b's, round by round, for the
// rounds both ran.
func roundRatios(a, b Result) []float64 {
	var rs []float64
	for i := range min(len(a.PerRound), len(b.PerRound)) {
		if a.PerRound[i] > 0 && b.PerRound[i] > 0 {
			rs = append(rs, a.PerRound[i]/b.PerRound[i])
		}
	}
	return rs
}

// quartiles returns the 25th and 75th percentiles of v (nearest rank);
// ok is false for fewer than four values.
func quartiles(v []float64) (lo, hi float64, ok bool) {
	if len(v) < 4 {
		return 0, 0, false
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/4], s[(3*len(s))/4], true
}
