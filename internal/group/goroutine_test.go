package group

import (
	"context"
	"testing"

	"github.com/durable-go/durable/internal/goid"
)

// Goroutine names the goroutine that runs the batch, whether or not User
// has taken the id first: it is what a re-entry test compares with.
func TestGoroutineIsTheRunner(t *testing.T) {
	var q Queue[int]
	for _, viaUser := range []bool{false, true} {
		err := q.Do(context.Background(), 1, nil, func(b *Batch[int]) error {
			want := goid.ID()
			if viaUser {
				b.User(func() {})
			}
			if got := b.Goroutine(); got != want {
				t.Errorf("viaUser=%v: Goroutine() = %d, want %d", viaUser, got, want)
			}
			b.User(func() {
				if got := b.Goroutine(); got != want {
					t.Errorf("viaUser=%v: inside User, Goroutine() = %d, want %d", viaUser, got, want)
				}
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
