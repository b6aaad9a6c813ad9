package goid

import (
	"runtime"
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

// TestTokenNamesItsHolderOnly: Is is true for the goroutine holding a
// token, nested pins included, and false for every other goroutine while
// the holder keeps it, however the scheduler moves them between threads.
func TestTokenNamesItsHolderOnly(t *testing.T) {
	tok := Pin()
	if tok == 0 || !Is(tok) {
		Unpin(tok)
		t.Fatalf("Pin = %#x, Is = false for its holder", tok)
	}
	inner := Pin()
	if inner != tok || !Is(tok) {
		t.Errorf("a nested Pin = %#x, want %#x", inner, tok)
	}
	Unpin(inner)
	if !Is(tok) {
		t.Error("Is = false for the holder after a nested Unpin")
	}
	var wg sync.WaitGroup
	var wrong sync.Map
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				if Is(tok) {
					wrong.Store(g, i)
				}
				if i%100 == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	wg.Wait()
	Unpin(tok)
	wrong.Range(func(g, i any) bool {
		t.Errorf("goroutine %v: Is = true for a token it does not hold (round %v)", g, i)
		return true
	})
}

// TestTokenLocksOnlyWhileHeld: on Linux a token pins the goroutine to its
// thread until Unpin, and leaves a caller's own LockOSThread in place.
func TestTokenLocksOnlyWhileHeld(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("tokens are goroutine ids here")
	}
	runtime.LockOSThread()
	tid := threadID()
	tok := Pin()
	Unpin(tok)
	for range 100 {
		runtime.Gosched()
		if threadID() != tid {
			t.Fatal("Unpin let go of the caller's own LockOSThread")
		}
	}
	runtime.UnlockOSThread()
	if Token(tid|threadMark) != tok {
		t.Fatalf("token %#x, thread %d", tok, tid)
	}
}

func BenchmarkPinIs(b *testing.B) {
	for b.Loop() {
		tok := Pin()
		Is(tok)
		Unpin(tok)
	}
}

func BenchmarkPin(b *testing.B) {
	for b.Loop() {
		Unpin(Pin())
	}
}
