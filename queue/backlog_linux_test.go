package queue

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
)

// BenchmarkPopBacklog measures what a CLI pop costs at a large backlog of
// 256-byte messages (issue 23: at most 0.15 s and 64 MB at 1,000,000): a
// fresh process opens the queue, leases one message and exits. It reports
// the medians of the child's wall time (ms/pop), CPU time (cpu-ms/pop:
// user and system, which a loaded machine does not inflate) and peak RSS
// (MB-rss), and of the same process doing nothing (the exec floor).
// DURABLE_QUEUE_BACKLOG sets the backlogs (default 10000).
func BenchmarkPopBacklog(b *testing.B) {
	for _, n := range backlogSizes(b) {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := testdir.New(b)
			fillBacklog(b, dir, n, 256)
			var ms, cpu, rss, floor, floorCPU, floorRSS []float64
			for b.Loop() {
				d, c, r := runChild(b, "QUEUE_CHILD=pop1", "QUEUE_DIR="+dir)
				ms, cpu, rss = append(ms, d), append(cpu, c), append(rss, r)
				d, c, r = runChild(b, "QUEUE_CHILD=noop")
				floor, floorCPU, floorRSS = append(floor, d), append(floorCPU, c), append(floorRSS, r)
			}
			b.ReportMetric(median(ms), "ms/pop")
			b.ReportMetric(median(cpu), "cpu-ms/pop")
			b.ReportMetric(median(rss), "MB-rss")
			b.ReportMetric(median(floor), "ms/exec-floor")
			b.ReportMetric(median(floorCPU), "cpu-ms/exec-floor")
			b.ReportMetric(median(floorRSS), "MB-rss-floor")
		})
	}
}

// printPeakRSS prints the process's peak resident set ("peak-rss KB"),
// which the parent cannot take from wait4: its ru_maxrss counts the
// parent's own memory, which the child shares until it execs.
func printPeakRSS() {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Printf("peak-rss %s\n", strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
}

// runChild runs the test binary as a child with env and returns its wall
// time and CPU time (user and system) in ms, and its peak RSS in MB.
func runChild(tb testing.TB, env ...string) (wall, cpu, rss float64) {
	cmd := testdir.Command("", env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		tb.Fatalf("child %v: %v\n%s", env, err, out.String())
	}
	d := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpuTime := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	kb := 0.0
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "peak-rss "); ok {
			kb, _ = strconv.ParseFloat(v, 64)
		}
	}
	if kb == 0 {
		tb.Fatalf("child %v did not report its peak RSS:\n%s", env, out.String())
	}
	return float64(d.Microseconds()) / 1000, float64(cpuTime.Microseconds()) / 1000, kb / 1024
}
