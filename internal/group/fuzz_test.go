package group

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// FuzzBatches checks the primitive against the plain path, each call run
// alone: whatever the batching, every caller's item is applied exactly
// once unless its caller left first, a sum computed batch by batch equals
// the sum of the items applied, and each caller gets the outcome of its
// own item. Each byte of the input is one caller: bit 0 cancels its
// context at once, bit 1 makes its callback panic, bit 2 makes its item
// fail, bits 3-4 choose whether and how much it joins, bit 5 lets its
// batch steal.
func FuzzBatches(f *testing.F) {
	f.Add([]byte{0, 1, 2, 4, 8, 16, 32, 63, 7, 9})
	f.Add([]byte{32, 32, 32, 0, 0, 0, 3, 2})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 64 {
			ops = ops[:64]
		}
		var q Queue[int]
		var applied [64]atomic.Int32
		var sum, want atomic.Int64
		fail := errors.New("fail")
		var active atomic.Int32
		apply := func(b *Batch[int]) {
			for i, v := range b.Items() {
				if !b.Claim(i) {
					continue
				}
				op := ops[v]
				b.Call(i, func() {
					if op&2 != 0 {
						panic(v)
					}
					applied[v].Add(1)
					if op&4 != 0 {
						b.Fail(i, fail)
						return
					}
					sum.Add(int64(v + 1))
				})
			}
		}
		run := func(b *Batch[int]) error {
			if active.Add(1) != 1 {
				t.Error("batches overlap")
			}
			defer active.Add(-1)
			apply(b)
			if ops[b.Items()[0]]&32 != 0 {
				if s := b.Steal(func([]int) bool { return true }); s != nil {
					apply(s)
				}
			}
			return nil
		}
		var wg sync.WaitGroup
		for v, op := range ops {
			wg.Go(func() {
				ctx, cancel := context.WithCancel(context.Background())
				if op&1 != 0 {
					cancel()
				}
				defer cancel()
				limit := int(op>>3&3) + 1
				var p any
				var err error
				func() {
					defer func() { p = recover() }()
					err = q.Do(ctx, v, func(b []int, _ int) bool { return len(b) < limit }, run)
				}()
				n := applied[v].Load()
				switch {
				case op&1 != 0:
					if !errors.Is(err, context.Canceled) || n != 0 || p != nil {
						t.Errorf("caller %d (cancelled): %v, panic %v, applied %d", v, err, p, n)
					}
				case op&2 != 0:
					if p != v {
						t.Errorf("caller %d: panic %v, want its own", v, p)
					}
				case op&4 != 0:
					if err != fail || n != 1 {
						t.Errorf("caller %d: %v, applied %d", v, err, n)
					}
				default:
					if err != nil || n != 1 {
						t.Errorf("caller %d: %v, applied %d", v, err, n)
					}
					want.Add(int64(v + 1))
				}
			})
		}
		wg.Wait()
		if sum.Load() != want.Load() || !idleSoon(&q) {
			t.Fatalf("sum %d, want %d; idle %v", sum.Load(), want.Load(), q.Idle())
		}
	})
}
