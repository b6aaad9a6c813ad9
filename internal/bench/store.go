package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/store"
)

// StoreEntry is one key of the benchmark document.
type StoreEntry struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Hits  int    `json:"hits"`
}

// StoreDoc is the benchmark document: with 1000 keys, about 100 KiB as the
// store writes it (indented).
type StoreDoc struct {
	Title   string                `json:"title"`
	Entries map[string]StoreEntry `json:"entries"`
}

// NewStoreDoc returns a document with n keys.
func NewStoreDoc(n int) StoreDoc {
	d := StoreDoc{Title: "benchmark", Entries: make(map[string]StoreEntry, n)}
	for i := range n {
		d.Entries[StoreKey(i)] = StoreEntry{
			Name:  "entry number " + strconv.Itoa(i),
			Value: fmt.Sprintf("%012d", i),
		}
	}
	return d
}

// StoreKey is the name of the i-th key of the benchmark document.
func StoreKey(i int) string { return fmt.Sprintf("key-%04d", i) }

// StoreRow is one measurement of Store.Update against a baseline.
type StoreRow struct {
	Name          string
	Store         time.Duration // median of Store.Update
	Raw           time.Duration // median of RawReplace of the same bytes
	WriteFile     time.Duration // median of durable.WriteFile of the same bytes
	Rounds, Size  int
	Keys          int
	Backups       int
	OneTput, Tput float64 // updates per second, 1 and Goroutines goroutines
	Goroutines    int
}

// Ratio is Store/Raw latency.
func (r StoreRow) Ratio() float64 { return float64(r.Store) / float64(r.Raw) }

// RatioWriteFile is Store/WriteFile latency.
func (r StoreRow) RatioWriteFile() float64 { return float64(r.Store) / float64(r.WriteFile) }

// Speedup is the many-goroutine throughput over the one-goroutine one.
func (r StoreRow) Speedup() float64 { return r.Tput / r.OneTput }

// Store measures Store.Update of one key of a keys-key document, one
// goroutine, alternating in each round with RawReplace and durable.WriteFile
// of the bytes the store wrote, for each backup setting; then the
// throughput of 1 and of n goroutines (coalesced), d per run, three runs
// each, alternating (see alternate).
func Store(dir string, keys, rounds, n int, d time.Duration) ([]StoreRow, error) {
	var rows []StoreRow
	for _, backups := range []int{-1, 1} {
		row, err := storeRow(dir, keys, rounds, n, d, backups)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func storeRow(dir string, keys, rounds, n int, d time.Duration, backups int) (StoreRow, error) {
	ctx := context.Background()
	name := fmt.Sprintf("store-%d.json", max(backups, 0))
	path := filepath.Join(dir, name)
	os.Remove(path)
	s, err := store.Open(path, &store.Options[StoreDoc]{Backups: backups})
	if err != nil {
		return StoreRow{}, err
	}
	if _, err := s.Update(ctx, func(doc *StoreDoc) error { *doc = NewStoreDoc(keys); return nil }); err != nil {
		return StoreRow{}, err
	}
	var seq atomic.Int64
	bump := func(doc *StoreDoc) error {
		i := int(seq.Add(1))
		k := StoreKey(i * 7919 % keys)
		e := doc.Entries[k]
		e.Hits++
		doc.Entries[k] = e
		return nil
	}
	var st, raw, wf []time.Duration
	for i := range rounds + 2 {
		var err error
		// copyOf times write of the store's file as it is now: the
		// floor (raw) and durable.WriteFile with the store's bytes.
		copyOf := func(times *[]time.Duration, write func(data []byte) error) func() {
			return func() {
				data, e := os.ReadFile(path)
				if e != nil {
					err = e
					return
				}
				start := time.Now()
				if e := write(data); e != nil && err == nil {
					err = e
				}
				*times = append(*times, time.Since(start))
			}
		}
		sides := []func(){
			func() {
				start := time.Now()
				_, err = s.Update(ctx, bump)
				st = append(st, time.Since(start))
			},
			copyOf(&raw, func(data []byte) error {
				return RawReplace(dir, "store-raw.json", data, "store-raw.json.tmp")
			}),
			copyOf(&wf, func(data []byte) error {
				return durable.WriteFile(filepath.Join(dir, "store-wf.json"), data, 0o644)
			}),
		}
		k := i % 3
		sides[k]()
		sides[(k+1)%3]()
		sides[(k+2)%3]()
		if err != nil {
			return StoreRow{}, err
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return StoreRow{}, err
	}
	row := StoreRow{
		Name: "1 goroutine", Store: median(st[2:]), Raw: median(raw[2:]), WriteFile: median(wf[2:]),
		Rounds: rounds, Size: int(fi.Size()), Keys: keys, Backups: max(backups, 0), Goroutines: n,
	}
	update := func(int, int) error {
		_, err := s.Update(ctx, bump)
		return err
	}
	row.OneTput, row.Tput, err = alternate(
		func() (int64, time.Duration, error) { return hammer(dir, 1, d, update) },
		func() (int64, time.Duration, error) { return hammer(dir, n, d, update) })
	if err != nil {
		return StoreRow{}, err
	}
	return row, nil
}

// PrintStore writes the rows as two Markdown tables.
func PrintStore(w io.Writer, rows []StoreRow) {
	if len(rows) == 0 {
		return
	}
	r0 := rows[0]
	fmt.Fprintf(w, "Update of one key in a %d-key document (%s on disk), %d rounds, medians.\n\n", r0.Keys, Size(r0.Size), r0.Rounds)
	fmt.Fprintf(w, "| backups | Store.Update | raw replace of the same bytes | ratio | durable.WriteFile | ratio | target |\n|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %v | %v | %.2f | %v | %.2f | <= 1.15 vs raw |\n", r.Backups,
			r.Store.Round(time.Microsecond), r.Raw.Round(time.Microsecond), r.Ratio(),
			r.WriteFile.Round(time.Microsecond), r.RatioWriteFile())
	}
	fmt.Fprintf(w, "\n| backups | 1 goroutine | %d goroutines (coalesced) | speedup | target |\n|---:|---:|---:|---:|---|\n", r0.Goroutines)
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %.0f/s | %.0f/s | %.2fx | >= 8x |\n", r.Backups, r.OneTput, r.Tput, r.Speedup())
	}
}
