package goid

import (
	"sync"
	"testing"
)

func TestIDTellsGoroutinesApart(t *testing.T) {
	me := ID()
	if me == 0 || ID() != me {
		t.Fatalf("ID = %d, then %d: want one non-zero id for one goroutine", me, ID())
	}
	ids := make(chan uint64, 50)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids <- ID()
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[uint64]bool{me: true}
	for id := range ids {
		if id == 0 || seen[id] {
			t.Fatalf("id %d is zero or shared", id)
		}
		seen[id] = true
	}
}

func BenchmarkID(b *testing.B) {
	for b.Loop() {
		ID()
	}
}
