package queue_test

import (
	"os"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/bench"
	"github.com/durable-go/durable/internal/testdir"
)

// BenchmarkPushPopAck reports messages/s of push+pop+ack of 256-byte
// messages with 1 producer and 1 consumer, and with 8 and 8.
func BenchmarkPushPopAck(b *testing.B) {
	for _, pc := range []struct {
		name string
		p, c int
	}{{"1p1c", 1, 1}, {"8p8c", 8, 8}} {
		b.Run(pc.name, func(b *testing.B) {
			dir := testdir.New(b)
			d := 2 * time.Second
			if os.Getenv("CI") == "true" {
				d = 500 * time.Millisecond
			}
			var total float64
			for b.Loop() {
				row, err := bench.QueueThroughput(dir, pc.p, pc.c, 256, d)
				if err != nil {
					b.Fatal(err)
				}
				total += row.PerSec()
			}
			b.ReportMetric(total/float64(b.N), "msgs/s")
		})
	}
}
