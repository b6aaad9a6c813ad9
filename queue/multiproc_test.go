package queue

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
)

// BenchmarkMultiProcess compares a queue shared by 4 processes of 4
// goroutines with one process of 16 goroutines (issue 23: the first must
// reach at least half of the second's throughput). Every goroutine pushes
// a 256-byte message, pops one and acknowledges it, in a loop; each
// process batches its own goroutines' operations (one lock turn, one
// write, one flush per batch), and the processes take turns at the
// directory's lock. Both shapes run as child processes, interleaved, and
// the medians of acked messages per second are reported, with their ratio.
func BenchmarkMultiProcess(b *testing.B) {
	d := 2 * time.Second
	if os.Getenv("CI") == "true" {
		d = 500 * time.Millisecond
	}
	var one, four []float64
	for b.Loop() {
		one = append(one, runShape(b, 1, 16, d))
		four = append(four, runShape(b, 4, 4, d))
	}
	b.ReportMetric(median(one), "msgs/s-1x16")
	b.ReportMetric(median(four), "msgs/s-4x4")
	b.ReportMetric(median(four)/median(one), "ratio-4x4/1x16")
}

// runShape runs procs child processes of g goroutines each on a new queue
// for d, started together once all have opened it, and returns the
// messages they acknowledged per second in all.
func runShape(tb testing.TB, procs, g int, d time.Duration) float64 {
	dir := testdir.New(tb)
	if q, err := Open(dir, nil); err != nil {
		tb.Fatal(err)
	} else {
		q.Close()
	}
	type child struct {
		cmd *exec.Cmd
		in  io.WriteCloser
		out *bufio.Scanner
	}
	var cs []child
	for range procs {
		cmd := testdir.Command("", "QUEUE_CHILD=worker", "QUEUE_DIR="+dir,
			fmt.Sprintf("QUEUE_G=%d", g), fmt.Sprintf("QUEUE_D=%d", d))
		cmd.Stderr = os.Stderr
		in, out := testdir.StartPiped(tb, cmd)
		sc := bufio.NewScanner(out)
		if !sc.Scan() || sc.Text() != "ready" {
			tb.Fatalf("child did not start: %q", sc.Text())
		}
		cs = append(cs, child{cmd: cmd, in: in, out: sc})
	}
	for _, c := range cs {
		fmt.Fprintln(c.in, "go")
	}
	total := 0.0
	for _, c := range cs {
		if !c.out.Scan() {
			tb.Fatal("child ended without a result")
		}
		f := strings.Fields(c.out.Text())
		n, err := strconv.ParseFloat(f[len(f)-1], 64)
		if len(f) != 2 || f[0] != "rate" || err != nil {
			tb.Fatalf("child said %q", c.out.Text())
		}
		total += n
		if err := c.cmd.Wait(); err != nil {
			tb.Fatal(err)
		}
	}
	return total
}

// runWorker is a child of BenchmarkMultiProcess: QUEUE_G goroutines push,
// pop and ack for QUEUE_D once the parent says go; it prints its acks per
// second.
func runWorker(dir string) int {
	g, _ := strconv.Atoi(os.Getenv("QUEUE_G"))
	dn, _ := strconv.ParseInt(os.Getenv("QUEUE_D"), 10, 64)
	q, err := Open(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer q.Close()
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return 1
	}
	msg := make([]byte, 256)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(dn))
	defer cancel()
	var acked atomic.Int64
	var failed atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := q.Push(ctx, msg); err != nil {
					if ctx.Err() == nil {
						failed.Store(err)
					}
					return
				}
				m, err := q.Pop(ctx, time.Minute)
				if err != nil {
					if ctx.Err() == nil {
						failed.Store(err)
					}
					return
				}
				if err := q.Ack(context.Background(), m.Receipt()); err != nil {
					failed.Store(err)
					return
				}
				acked.Add(1)
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("rate %f\n", float64(acked.Load())/time.Since(start).Seconds())
	return 0
}
