package journal

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable/vfs"
)

// commit builds each batch's tree in a buffer it reuses (the old tree's,
// once the batch is written), and the followers' channel is made only when
// one waits. Differential test against the plain definition: random
// appends and batches from several writers, some with contexts that can
// end (so that prepared batches are adopted or framed afresh), across
// segment rotations, while a follower reads along; every head seen must be
// RFC 6962's MTH of the records read back, and the follower must see every
// record.
func TestReusedTreeBufferMatchesPlainRoots(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 23))
		m := vfs.NewMem()
		j := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 4096 << (seed % 3)})

		type head struct {
			size uint64
			root Hash
		}
		var mu sync.Mutex
		var heads []head
		var wg sync.WaitGroup
		const writers, rounds = 6, 40
		total := 0
		plans := make([][]int, writers)
		for w := range plans {
			for range rounds {
				n := 1 + rng.IntN(3)*rng.IntN(3) // mostly single records
				plans[w] = append(plans[w], n)
				total += n
			}
		}

		// A follower that waits for every commit (waitChan).
		ctx, cancel := context.WithCancel(bg)
		followed := make(chan int, 1)
		go func() {
			n := 0
			for _, err := range j.Follow(ctx, 0) {
				if err != nil {
					break
				}
				if n++; n == total {
					break
				}
			}
			followed <- n
		}()

		for w := range writers {
			wg.Go(func() {
				for k, n := range plans[w] {
					c := bg
					var stop context.CancelFunc = func() {}
					if (w+k)%3 == 0 {
						c, stop = context.WithTimeout(bg, time.Hour) // can end: never prepared
					}
					ps := make([][]byte, n)
					for i := range ps {
						ps[i] = payload(w*10000 + k*10 + i)
					}
					var err error
					if n == 1 {
						_, err = j.Append(c, ps[0])
					} else {
						_, err = j.AppendBatch(c, ps)
					}
					stop()
					if err != nil {
						t.Error(err)
						return
					}
					size, root, err := j.Head(bg)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					heads = append(heads, head{size, root})
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		select {
		case n := <-followed:
			if n != total {
				t.Fatalf("seed %d: the follower saw %d records, want %d", seed, n, total)
			}
		case <-time.After(time.Minute):
			t.Fatalf("seed %d: the follower did not see every record", seed)
		}
		cancel()

		recs := records(t, j)
		var leaves []Hash
		data := 0
		for _, r := range recs {
			leaves = append(leaves, leafHash(r.LeafData()))
			if r.Type == TypeData {
				data++
			}
		}
		if data != total {
			t.Fatalf("seed %d: %d data records, want %d", seed, data, total)
		}
		for _, h := range heads {
			if h.size > uint64(len(leaves)) {
				t.Fatalf("seed %d: head of %d records, the log has %d", seed, h.size, len(leaves))
			}
			if want := mth(leaves[:h.size]); h.root != want {
				t.Fatalf("seed %d: the head at %d records differs from the MTH of the records read back", seed, h.size)
			}
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(bg, "/j", &VerifyOptions{FS: m}); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}
