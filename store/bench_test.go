package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/bench"
	"github.com/durable-go/durable/store"

	"github.com/durable-go/durable/internal/testdir"
)

// Update of one key in a 1000-key (~100 KiB) document, against the raw
// replace of the bytes the store writes. "go test -bench Store -run ^$"
// gives ns/op; BenchmarkStoreReport prints the Markdown tables that
// "durable bench store" prints, with ratios measured in one run.

func benchStore(b *testing.B, backups int) (*store.Store[bench.StoreDoc], string, func(*bench.StoreDoc) error) {
	b.Helper()
	path := filepath.Join(testdir.New(b), "doc.json")
	s, err := store.Open(path, &store.Options[bench.StoreDoc]{Backups: backups})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Update(context.Background(), func(d *bench.StoreDoc) error { *d = bench.NewStoreDoc(1000); return nil }); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	bump := func(d *bench.StoreDoc) error {
		k := bench.StoreKey(int(seq.Add(1)) * 7919 % 1000)
		e := d.Entries[k]
		e.Hits++
		d.Entries[k] = e
		return nil
	}
	return s, path, bump
}

func BenchmarkStoreUpdate(b *testing.B) {
	ctx := context.Background()
	for _, backups := range []int{-1, 1} {
		name := map[int]string{-1: "backups=0", 1: "backups=1"}[backups]
		b.Run(name+"/1goroutine", func(b *testing.B) {
			s, _, bump := benchStore(b, backups)
			for b.Loop() {
				if _, err := s.Update(ctx, bump); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/16goroutines", func(b *testing.B) {
			s, _, bump := benchStore(b, backups)
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Update(ctx, bump); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	b.Run("raw-replace-same-bytes", func(b *testing.B) {
		_, path, _ := benchStore(b, -1)
		data, _ := os.ReadFile(path)
		dir := testdir.New(b)
		for b.Loop() {
			if err := bench.RawReplace(dir, "raw.json", data, "raw.json.tmp"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("durable-writefile-same-bytes", func(b *testing.B) {
		_, path, _ := benchStore(b, -1)
		data, _ := os.ReadFile(path)
		dst := filepath.Join(testdir.New(b), "wf.json")
		for b.Loop() {
			if err := durable.WriteFile(dst, data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStoreReport prints the comparison tables (run it with
// -benchtime 1x: it times itself).
func BenchmarkStoreReport(b *testing.B) {
	for b.Loop() {
		rows, err := bench.Store(testdir.New(b), 1000, 200, 16, 2*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		bench.PrintStore(os.Stdout, rows)
	}
}

// BenchmarkStoreSizes prints the tables of BenchmarkStoreReport for
// documents of about 100 KB, 1 MB and 10 MB (1,000, 10,000 and 100,000
// keys), where the incremental encoder must keep an update near the raw
// replace of the same bytes (run it with -benchtime 1x).
func BenchmarkStoreSizes(b *testing.B) {
	for _, keys := range []int{1000, 10000, 100000} {
		b.Run(strconv.Itoa(keys)+"keys", func(b *testing.B) {
			for b.Loop() {
				rows, err := bench.Store(testdir.New(b), keys, 40, 16, time.Second)
				if err != nil {
					b.Fatal(err)
				}
				bench.PrintStore(os.Stdout, rows)
			}
		})
	}
}
