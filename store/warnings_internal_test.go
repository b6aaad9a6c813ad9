package store

import (
	"errors"
	"fmt"
	"testing"
)

// A Store that nobody asks for its warnings keeps the last few, counts
// the rest, and keeps a finding that repeats the one before once.
func TestWarningsAreBounded(t *testing.T) {
	var w warnings
	ie := &InsecureError{Path: "/x", Mode: 0o644}
	for range 5 {
		w.add(&InsecureError{Path: "/x", Mode: 0o644})
	}
	if list, dropped := w.take(); len(list) != 1 || dropped != 0 || *list[0].(*InsecureError) != *ie {
		t.Fatalf("a repeated finding: %v, %d", list, dropped)
	}
	for i := range maxWarnings + 3 {
		w.add(&RecoveredError{Path: fmt.Sprint(i), Cause: errors.New("torn")})
	}
	list, dropped := w.take()
	if len(list) != maxWarnings || dropped != 3 || list[0].(*RecoveredError).Path != "3" {
		t.Fatalf("kept %d (first %v), dropped %d; want the last %d and 3 dropped", len(list), list[0], dropped, maxWarnings)
	}
	if list, dropped := w.take(); len(list) != 0 || dropped != 0 {
		t.Fatalf("take did not forget: %v %d", list, dropped)
	}
}
