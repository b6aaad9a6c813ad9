package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/journal"
)

// LogLatencyRow compares one append of Size bytes by one writer.
type LogLatencyRow struct {
	Name    string // the journal's options
	Size    int
	Journal time.Duration // median Journal.Append
	Raw     time.Duration // median write + fdatasync into a preallocated file
	Rounds  int
}

// Ratio is Journal/Raw: 1.0 means the journal adds nothing.
func (r LogLatencyRow) Ratio() float64 { return float64(r.Journal) / float64(r.Raw) }

// LogLatency measures Journal.Append of size-byte records, with opts,
// against RawAppender, one writer, alternating which goes first in each
// round, and returns the medians.
func LogLatency(dir, name string, opts *journal.Options, size, rounds int) (LogLatencyRow, error) {
	row := LogLatencyRow{Name: name, Size: size, Rounds: rounds}
	sub, err := os.MkdirTemp(dir, "lat-")
	if err != nil {
		return row, err
	}
	j, err := journal.Open(filepath.Join(sub, "journal"), opts)
	if err != nil {
		return row, err
	}
	defer j.Close()
	raw, err := NewRawAppender(sub, journal.DefaultSegmentSize)
	if err != nil {
		return row, err
	}
	defer raw.Close()
	data := payload(size)
	ctx := context.Background()
	row.Journal, row.Raw, err = latencies(rounds, 5, func() error {
		_, err := j.Append(ctx, data)
		return err
	}, func() error {
		return raw.Append(data)
	})
	return row, err
}

// LogThroughputRow is the append rate of Writers concurrent goroutines.
type LogThroughputRow struct {
	Writers int
	Size    int
	PerSec  float64 // records per second
	Base    float64 // records per second of one writer, for the ratio
}

// Ratio is PerSec over one writer's rate.
func (r LogThroughputRow) Ratio() float64 { return r.PerSec / r.Base }

// LogThroughput measures records per second with each number of writers,
// each appending size-byte records for d, in one journal.
func LogThroughput(dir string, writers []int, size int, d time.Duration) ([]LogThroughputRow, error) {
	j, err := journal.Open(filepath.Join(dir, "tp-journal"), nil)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	data := payload(size)
	ctx := context.Background()
	var rows []LogThroughputRow
	for _, n := range writers {
		ops, took, err := hammer("", n, d, func(int, int) error {
			_, err := j.Append(ctx, data)
			return err
		})
		if err != nil {
			return nil, err
		}
		rows = append(rows, LogThroughputRow{Writers: n, Size: size, PerSec: float64(ops) / took.Seconds()})
	}
	for i := range rows {
		rows[i].Base = rows[0].PerSec
	}
	return rows, nil
}

// LogBuild fills a journal in dir with records of size bytes until it
// holds about total bytes, in large batches (durable.Cache while building:
// only the measurement matters), and returns the number of records.
func LogBuild(dir string, total int64, size int) (uint64, error) {
	j, err := journal.Open(dir, &journal.Options{Durability: durable.Cache})
	if err != nil {
		return 0, err
	}
	data := payload(size)
	batch := make([][]byte, 1024)
	for i := range batch {
		batch[i] = data
	}
	per := int64(size + 32 + 8)
	for written := int64(0); written < total; written += per * int64(len(batch)) {
		if _, err := j.AppendBatch(context.Background(), batch); err != nil {
			j.Close()
			return 0, err
		}
	}
	n := j.Size()
	return n, j.Close()
}

// LogReadRow is what reading or verifying a large log cost.
type LogReadRow struct {
	What     string
	Records  uint64
	Bytes    int64 // size of the segment files
	Elapsed  time.Duration
	PeakHeap uint64 // highest heap in use seen while it ran, minus before
}

// PerSec is records per second.
func (r LogReadRow) PerSec() float64 { return float64(r.Records) / r.Elapsed.Seconds() }

// LogRead measures Verify over the journal in dir, and a Scan of every
// record, with the peak heap each needed.
func LogRead(dir string) ([]LogReadRow, error) {
	var bytes int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && !e.IsDir() {
			bytes += fi.Size()
		}
	}
	var rows []LogReadRow
	measure := func(what string, fn func() (uint64, error)) error {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		var peak atomic.Uint64
		done := make(chan struct{})
		go func() {
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					if m.HeapInuse > base && m.HeapInuse-base > peak.Load() {
						peak.Store(m.HeapInuse - base)
					}
				}
			}
		}()
		start := time.Now()
		n, err := fn()
		el := time.Since(start)
		close(done)
		if err != nil {
			return err
		}
		rows = append(rows, LogReadRow{What: what, Records: n, Bytes: bytes, Elapsed: el, PeakHeap: peak.Load()})
		return nil
	}
	err := measure("Verify (checksums, chain, Merkle tree)", func() (uint64, error) {
		rep, err := journal.Verify(context.Background(), dir, nil)
		if err != nil {
			return 0, err
		}
		return rep.Records, nil
	})
	if err != nil {
		return nil, err
	}
	err = measure("Scan every record", func() (uint64, error) {
		j, err := journal.Open(dir, &journal.Options{ReadOnly: true})
		if err != nil {
			return 0, err
		}
		defer j.Close()
		var n uint64
		for _, err := range j.Scan(0) {
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	})
	return rows, err
}

// PrintLogLatency writes the rows as a Markdown table.
func PrintLogLatency(w io.Writer, rows []LogLatencyRow) {
	fmt.Fprintf(w, "| journal | record | Journal.Append median | write+fdatasync median | ratio | rounds |\n|---|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %v | %v | %.2f | %d |\n", r.Name, Size(r.Size), r.Journal.Round(time.Microsecond), r.Raw.Round(time.Microsecond), r.Ratio(), r.Rounds)
	}
}

// PrintLogThroughput writes the rows as a Markdown table.
func PrintLogThroughput(w io.Writer, rows []LogThroughputRow) {
	fmt.Fprintf(w, "| writers | records/s | vs 1 writer |\n|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %.0f | %.1fx |\n", r.Writers, r.PerSec, r.Ratio())
	}
}

// PrintLogRead writes the rows as a Markdown table.
func PrintLogRead(w io.Writer, rows []LogReadRow) {
	fmt.Fprintf(w, "| what | records | log size | time | records/s | MiB/s | peak heap |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d | %.0f MiB | %v | %.0f | %.0f | %.1f MiB |\n", r.What, r.Records, float64(r.Bytes)/(1<<20),
			r.Elapsed.Round(time.Millisecond), r.PerSec(), float64(r.Bytes)/(1<<20)/r.Elapsed.Seconds(), float64(r.PeakHeap)/(1<<20))
	}
}

// Log runs every journal measurement in a scratch directory under dir and
// prints the tables: what "durable bench log" shows.
func Log(w io.Writer, dir string, rounds int, d time.Duration, readSize int64) error {
	scratch, err := os.MkdirTemp(dir, "durable-bench-log-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	fmt.Fprintf(w, "## Journal append latency, one writer (%d rounds, alternating)\n\n", rounds)
	var lat []LogLatencyRow
	for _, c := range []struct {
		name string
		opts *journal.Options
	}{
		{"default (lock per batch, shared with other processes)", nil},
		{"HoldLock (one writer process)", &journal.Options{HoldLock: true}},
	} {
		row, err := LogLatency(scratch, c.name, c.opts, 128, rounds)
		if err != nil {
			return err
		}
		lat = append(lat, row)
	}
	PrintLogLatency(w, lat)
	fmt.Fprintf(w, "\n## Journal append throughput, group commit (%v each)\n\n", d)
	tp, err := LogThroughput(scratch, []int{1, 8, 64}, 128, d)
	if err != nil {
		return err
	}
	PrintLogThroughput(w, tp)
	fmt.Fprintf(w, "\n## Reading and verifying a %s log\n\n", Size(int(readSize)))
	big := filepath.Join(scratch, "big")
	if _, err := LogBuild(big, readSize, 128); err != nil {
		return err
	}
	rows, err := LogRead(big)
	if err != nil {
		return err
	}
	PrintLogRead(w, rows)
	return nil
}
