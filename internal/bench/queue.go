package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/durable-go/durable/queue"
)

// QueueRow is the throughput of push+pop+ack of one message size with
// some producer and consumer goroutines on one queue.
type QueueRow struct {
	Producers, Consumers int
	Size                 int
	Messages             int64         // acknowledged in Elapsed
	Elapsed              time.Duration // from the first push to the last ack
	Syncs                float64       // raw fdatasync appends/s on the same disk (the floor's unit)
}

// PerSec is messages pushed, popped and acknowledged per second.
func (r QueueRow) PerSec() float64 { return float64(r.Messages) / r.Elapsed.Seconds() }

// QueueThroughput runs producers and consumers goroutines on a fresh queue
// in dir for about d: producers push size-byte messages, consumers pop them
// (lease 1 min) and acknowledge them. It counts acknowledged messages.
func QueueThroughput(dir string, producers, consumers, size int, d time.Duration) (QueueRow, error) {
	qdir, err := os.MkdirTemp(dir, "queue-")
	if err != nil {
		return QueueRow{}, err
	}
	defer os.RemoveAll(qdir)
	q, err := queue.Open(qdir, nil)
	if err != nil {
		return QueueRow{}, err
	}
	defer q.Close()
	msg := payload(size)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var acked atomic.Int64
	var firstErr error
	var once sync.Once
	fail := func(err error) {
		if ctx.Err() == nil {
			once.Do(func() { firstErr = err })
			cancel()
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	var pushed atomic.Int64
	for range producers {
		wg.Go(func() {
			for ctx.Err() == nil {
				// Keep the backlog bounded, as a real producer would.
				if pushed.Load()-acked.Load() > int64(64*consumers) {
					time.Sleep(100 * time.Microsecond)
					continue
				}
				if _, err := q.Push(ctx, msg); err != nil {
					fail(err)
					return
				}
				pushed.Add(1)
			}
		})
	}
	var end atomic.Int64
	for range consumers {
		wg.Go(func() {
			for {
				m, err := q.Pop(ctx, time.Minute)
				if err != nil {
					if ctx.Err() == nil {
						fail(err)
					}
					return
				}
				if err := q.Ack(context.Background(), m.Receipt()); err != nil {
					fail(err)
					return
				}
				acked.Add(1)
				end.Store(int64(time.Since(start)))
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return QueueRow{}, firstErr
	}
	return QueueRow{Producers: producers, Consumers: consumers, Size: size, Messages: acked.Load(), Elapsed: time.Duration(end.Load())}, nil
}

// rawSyncRate measures fdatasync'd 256-byte appends per second for d.
func rawSyncRate(dir string, d time.Duration) (float64, error) {
	r, err := NewRawAppender(dir, 64<<20)
	if err != nil {
		return 0, err
	}
	defer os.Remove(filepath.Join(dir, "raw-floor"))
	defer r.Close()
	p := payload(256)
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		if err := r.Append(p); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// Queue runs "durable bench queue": push+pop+ack of 256-byte messages with
// 1 producer and 1 consumer, then 8 and 8 (goroutines), each for d, and
// prints them beside the raw fdatasync rate of the disk. Each message
// needs two durable records (push, ack) and one that is only written (the
// lease: see queue/doc.go), so raw/2 is what one flush per record would
// give; group commit is how the queue goes beyond it.
func Queue(w io.Writer, dir string, d time.Duration) error {
	raw, err := rawSyncRate(dir, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "## Queue: push + pop + ack, 256 B messages\n\n")
	fmt.Fprintf(w, "raw floor: %.0f fdatasync'd appends/s (one writer); a message needs 2 flushed records (push, ack) and 1 written one (the lease)\n\n", raw)
	fmt.Fprintf(w, "| producers | consumers | messages/s | per message | vs raw/2 |\n|---:|---:|---:|---:|---:|\n")
	for _, pc := range [][2]int{{1, 1}, {8, 8}} {
		row, err := QueueThroughput(dir, pc[0], pc[1], 256, d)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "| %d | %d | %.0f | %v | %.2fx |\n", row.Producers, row.Consumers, row.PerSec(),
			(row.Elapsed / time.Duration(max(1, row.Messages))).Round(time.Microsecond), row.PerSec()/(raw/2))
	}
	return nil
}
