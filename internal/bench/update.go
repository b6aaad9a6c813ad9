package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/lock"
)

// UpdateRow compares durable.Update of a small document with the raw
// sequence it replaces (lock, read, replace, unlock), and shows what
// coalescing gives with many goroutines.
type UpdateRow struct {
	Size         int
	Durable, Raw time.Duration // median latency, one goroutine
	Rounds       int
	// Throughput with one goroutine and with Goroutines goroutines.
	One, Many  float64
	Goroutines int
}

// Ratio is Durable/Raw latency.
func (r UpdateRow) Ratio() float64 { return float64(r.Durable) / float64(r.Raw) }

// Speedup is the many-goroutine throughput over the one-goroutine one.
func (r UpdateRow) Speedup() float64 { return r.Many / r.One }

// bump changes a document of fixed size: it increments the digit run at the
// start, so every update writes different bytes.
func bump(old []byte) ([]byte, error) {
	b := bytes.Clone(old)
	for i := 7; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			break
		}
		b[i] = '0'
	}
	return b, nil
}

// RawUpdate is the floor for Update: lock, read, change, raw replace, unlock.
func RawUpdate(ctx context.Context, dir, name string, fn func([]byte) ([]byte, error)) error {
	p := filepath.Join(dir, name)
	h, err := lock.Lock(ctx, p)
	if err != nil {
		return err
	}
	defer h.Unlock()
	old, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	next, err := fn(old)
	if err != nil {
		return err
	}
	return RawReplace(dir, name, next, name+".tmp")
}

// Update measures Update of a size-byte document, alternating with the raw
// sequence, then throughput with 1 and n goroutines, d per run, three runs
// each, alternating (see alternate).
func Update(dir string, size, rounds, n int, d time.Duration) (UpdateRow, error) {
	ctx := context.Background()
	doc := append([]byte("00000000"), payload(size-8)...)
	for _, name := range []string{"upd-durable", "upd-raw"} {
		if err := os.WriteFile(filepath.Join(dir, name), doc, 0o600); err != nil {
			return UpdateRow{}, err
		}
	}
	target := filepath.Join(dir, "upd-durable")
	var dur, raw []time.Duration
	for i := range rounds + 2 {
		var err error
		sides := []func(){
			func() {
				start := time.Now()
				err = durable.Update(target, bump)
				dur = append(dur, time.Since(start))
			},
			func() {
				start := time.Now()
				if e := RawUpdate(ctx, dir, "upd-raw", bump); err == nil {
					err = e
				}
				raw = append(raw, time.Since(start))
			},
		}
		if i%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		sides[0]()
		sides[1]()
		if err != nil {
			return UpdateRow{}, err
		}
	}
	row := UpdateRow{Size: size, Durable: median(dur[2:]), Raw: median(raw[2:]), Rounds: rounds, Goroutines: n}
	update := func(int, int) error { return durable.Update(target, bump) }
	var err error
	row.One, row.Many, err = alternate(
		func() (int64, time.Duration, error) { return hammer(dir, 1, d, update) },
		func() (int64, time.Duration, error) { return hammer(dir, n, d, update) })
	if err != nil {
		return UpdateRow{}, err
	}
	return row, nil
}
