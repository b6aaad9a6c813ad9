package queue

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// backlogSizes are the backlogs BenchmarkPopBacklog measures: 10,000
// unless DURABLE_QUEUE_BACKLOG lists others (issue 23's row is 1000000),
// so that CI stays fast.
func backlogSizes(tb testing.TB) []int {
	v := os.Getenv("DURABLE_QUEUE_BACKLOG")
	if v == "" {
		return []int{10_000}
	}
	var ns []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			tb.Fatalf("DURABLE_QUEUE_BACKLOG=%q: want a list of counts", v)
		}
		ns = append(ns, n)
	}
	return ns
}

// fillBacklog pushes n messages of size bytes into a new queue in dir,
// 1000 per batch, as a producer would, and closes it.
func fillBacklog(tb testing.TB, dir string, n, size int) {
	q, err := Open(dir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer q.Close()
	batch := make([][]byte, 0, 1000)
	for i := 0; i < n; {
		batch = batch[:0]
		for ; i < n && len(batch) < cap(batch); i++ {
			p := make([]byte, size)
			copy(p, fmt.Sprintf("message %d ", i))
			batch = append(batch, p)
		}
		if _, err := q.PushBatch(bg, batch); err != nil {
			tb.Fatal(err)
		}
	}
}

// runPopOnce is a child process of BenchmarkPopBacklog: what the CLI's
// `durable queue pop --no-wait` does (open, lease one message, close).
func runPopOnce(dir string) int {
	start := time.Now()
	q, err := Open(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opened := time.Since(start)
	m, ok, err := q.TryPop(bg, time.Minute)
	popped := time.Since(start)
	if err == nil && !ok {
		err = fmt.Errorf("no message")
	}
	if err == nil {
		err = q.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("popped %v: open %v, pop %v, close %v\n", m.ID, opened, popped-opened, time.Since(start)-popped)
	printPeakRSS()
	return 0
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
