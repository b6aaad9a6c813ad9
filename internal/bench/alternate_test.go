package bench

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestAlternate(t *testing.T) {
	var order []string
	side := func(name string, ops int64, took time.Duration) func() (int64, time.Duration, error) {
		return func() (int64, time.Duration, error) {
			order = append(order, name)
			return ops, took, nil
		}
	}
	// a's runs go at 100/s, 100/s and 250/s: over all three, 120
	// operations in 600 ms, 200/s, which neither one run nor a mean or
	// median of the runs' rates gives.
	runs := []struct {
		ops  int64
		took time.Duration
	}{{10, 100 * time.Millisecond}, {10, 100 * time.Millisecond}, {100, 400 * time.Millisecond}}
	a := func() (int64, time.Duration, error) {
		r := runs[0]
		runs = runs[1:]
		return side("a", r.ops, r.took)()
	}
	ra, rb, err := alternate(a, side("b", 30, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "b", "a", "a", "b"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v: each side must go first in turn", order, want)
	}
	if ra != 200 || rb != 300 {
		t.Errorf("rates %v/s and %v/s, want 200/s and 300/s", ra, rb)
	}

	boom := errors.New("boom")
	calls := 0
	_, _, err = alternate(side("a", 1, time.Second), func() (int64, time.Duration, error) {
		calls++
		return 0, 0, boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Errorf("err %v after %d calls of the failing side, want boom after 1", err, calls)
	}
}
