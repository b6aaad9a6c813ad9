package durable_test

import (
	"bytes"
	"testing"

	"github.com/durable-go/durable"
)

// Files whose size Stat does not know (0 here) are read to their end, not
// to where Stat said it was.
func TestReadFileBeyondStatSize(t *testing.T) {
	got, err := durable.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 1024 || !bytes.HasSuffix(got, []byte("\n")) || bytes.Count(got, []byte("\n")) < 10 {
		t.Fatalf("read %d bytes of /proc/self/maps: %q", len(got), got)
	}
}
