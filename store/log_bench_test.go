package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/store"
)

type benchEntry struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Hits  int    `json:"hits"`
}

type benchDoc struct {
	Title   string                `json:"title"`
	Entries map[string]benchEntry `json:"entries"`
}

// BenchmarkLogField: one field of a map document of about 100 bytes a
// key, in log mode and in the default mode.
func BenchmarkLogField(b *testing.B) {
	for _, keys := range []int{10, 1000, 10000} {
		for _, log := range []bool{true, false} {
			b.Run(fmt.Sprintf("keys=%d/log=%v", keys, log), func(b *testing.B) {
				path := filepath.Join(testdir.New(b), "doc.json")
				s, err := store.Open(path, &store.Options[benchDoc]{Log: log})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				ctx := context.Background()
				s.Update(ctx, func(d *benchDoc) error {
					d.Entries = map[string]benchEntry{}
					for i := range keys {
						d.Entries[fmt.Sprintf("key-%05d", i)] = benchEntry{Name: fmt.Sprintf("entry number %d", i), Value: fmt.Sprintf("%012d", i)}
					}
					return nil
				})
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					k := fmt.Sprintf("key-%05d", i*7919%keys)
					if _, err := s.Update(ctx, func(d *benchDoc) error {
						e := d.Entries[k]
						e.Hits++
						d.Entries[k] = e
						return nil
					}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
