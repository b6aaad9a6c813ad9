package journal_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/journal"
)

// Several processes append to one journal: each batches its own goroutines
// (group commit) and the processes take turns with the directory's lock,
// which passes from one to the next without a sleep. The children are this
// test binary run again as TestAppendProcessChild; they open the journal,
// say "ready", and start when told, so that their start-up is not measured.

const (
	envProcDir      = "DURABLE_JOURNAL_PROC_DIR"
	envProcWriters  = "DURABLE_JOURNAL_PROC_WRITERS"
	envProcEach     = "DURABLE_JOURNAL_PROC_EACH"
	envProcDuration = "DURABLE_JOURNAL_PROC_DURATION"
)

// TestAppendProcessChild is the appending child of the multi-process
// benchmarks; run directly, it does nothing.
func TestAppendProcessChild(t *testing.T) {
	dir := os.Getenv(envProcDir)
	if dir == "" {
		t.Skip("the child of the multi-process benchmarks; runs only when they start it")
	}
	n, err := appendChildMain(dir)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("done", n)
	os.Exit(0)
}

func appendChildMain(dir string) (int64, error) {
	writers, _ := strconv.Atoi(os.Getenv(envProcWriters))
	each, _ := strconv.Atoi(os.Getenv(envProcEach))
	d, _ := time.ParseDuration(os.Getenv(envProcDuration))
	j, err := journal.Open(dir, nil)
	if err != nil {
		return 0, err
	}
	defer j.Close()
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return 0, err
	}
	stop := time.Now().Add(d)
	var ops atomic.Int64
	var first atomic.Value
	data := make([]byte, 128)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for k := 0; each > 0 && k < each || each == 0 && time.Now().Before(stop); k++ {
				if _, err := j.Append(context.Background(), data); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
				ops.Add(1)
			}
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return 0, err
	}
	return ops.Load(), nil
}

// procRun is one run of procs child processes with writers goroutines each.
type procRun struct {
	children []*exec.Cmd
	stdins   []io.WriteCloser
	outs     []*bufio.Scanner
}

func startProcs(tb testing.TB, dir string, procs, writers, each int, d time.Duration) *procRun {
	tb.Helper()
	r := &procRun{}
	for range procs {
		cmd := testdir.Command("TestAppendProcessChild", envProcDir+"="+dir, envProcWriters+"="+strconv.Itoa(writers),
			envProcEach+"="+strconv.Itoa(each), envProcDuration+"="+d.String())
		cmd.Stderr = os.Stderr
		in, out := testdir.StartPiped(tb, cmd)
		tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		r.children, r.stdins, r.outs = append(r.children, cmd), append(r.stdins, in), append(r.outs, bufio.NewScanner(out))
	}
	for _, sc := range r.outs {
		if line := nextLine(sc); line != "ready" {
			tb.Fatalf("child said %q, want ready", line)
		}
	}
	return r
}

func nextLine(sc *bufio.Scanner) string {
	for sc.Scan() {
		// The test framework may print its own lines; ours are known.
		if l := sc.Text(); l == "ready" || strings.HasPrefix(l, "done ") || strings.HasPrefix(l, "error: ") {
			return l
		}
	}
	return "exited: " + fmt.Sprint(sc.Err())
}

// run starts the children and waits for them: the records they appended
// and the time from the start to the last one's end.
func (r *procRun) run(tb testing.TB) (int64, time.Duration) {
	tb.Helper()
	start := time.Now()
	for _, in := range r.stdins {
		io.WriteString(in, "go\n")
	}
	var total int64
	for i, sc := range r.outs {
		line := nextLine(sc)
		n, err := strconv.ParseInt(strings.TrimPrefix(line, "done "), 10, 64)
		if err != nil {
			tb.Fatalf("child %d: %s", i, line)
		}
		total += n
	}
	elapsed := time.Since(start)
	for _, c := range r.children {
		c.Wait()
	}
	return total, elapsed
}

// BenchmarkAppendProcesses appends b.N records of 128 bytes to one
// journal from PxG: P processes of G goroutines each. 4x4 against 1x16
// is the multi-process row of issue 23 (at least half the rate).
func BenchmarkAppendProcesses(b *testing.B) {
	for _, c := range []struct{ procs, writers int }{{1, 16}, {4, 4}} {
		b.Run(fmt.Sprintf("%dx%d", c.procs, c.writers), func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "j")
			each := max(1, (b.N+c.procs*c.writers-1)/(c.procs*c.writers))
			b.StopTimer()
			r := startProcs(b, dir, c.procs, c.writers, each, 0)
			b.StartTimer()
			n, _ := r.run(b)
			if n != int64(each*c.procs*c.writers) {
				b.Fatalf("appended %d records, want %d", n, each*c.procs*c.writers)
			}
		})
	}
}

// TestBenchProcessesReport interleaves rounds of 1x16 and 4x4 (one second
// each, alternating which goes first) and prints the medians and their
// ratio; it runs only with DURABLE_BENCH=1.
func TestBenchProcessesReport(t *testing.T) {
	if os.Getenv("DURABLE_BENCH") != "1" {
		t.Skip("set DURABLE_BENCH=1 to measure")
	}
	shapes := []struct{ procs, writers int }{{1, 16}, {4, 4}}
	const rounds = 5
	rates := [2][]float64{}
	for round := range rounds {
		for k := range 2 {
			c := (round + k) % 2
			dir := filepath.Join(t.TempDir(), "j")
			r := startProcs(t, dir, shapes[c].procs, shapes[c].writers, 0, time.Second)
			n, d := r.run(t)
			rates[c] = append(rates[c], float64(n)/d.Seconds())
			rep, err := journal.Verify(context.Background(), dir, nil)
			if err != nil || rep.Size != uint64(n) {
				t.Fatalf("%dx%d: Verify: %v, %d records, appended %d", shapes[c].procs, shapes[c].writers, err, rep.Size, n)
			}
		}
	}
	med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	ratios := make([]float64, rounds)
	for i := range ratios {
		ratios[i] = rates[1][i] / rates[0][i]
	}
	t.Logf("%d rounds of 1 s: 1 process x 16 goroutines %.0f appends/s, 4 processes x 4 goroutines %.0f/s: ratio of medians %.2f, per round %.2f-%.2f",
		rounds, med(rates[0]), med(rates[1]), med(rates[1])/med(rates[0]), slices.Min(ratios), slices.Max(ratios))
}
