package main

import (
	"github.com/durable-go/durable/internal/testdir"
	"strings"
	"testing"
)

// TestBenchScale runs every row of durable bench scale at tiny sizes: the
// worker processes (this test binary, through TestMain), the spawner and
// the CLI it times (the built binary) all have to work for it to pass.
func TestBenchScale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts dozens of processes")
	}
	bin := durableBinary(t)
	r := runCLI(t, nil, "bench", "scale", "--quick", "--durable", bin, "--dir", testdir.New(t),
		"--backlog", "50", "--jsonl-size", "65536", "--doc-sizes", "2000", "--rounds", "2", "--duration", "20ms")
	if r.code != 0 {
		t.Fatal(r)
	}
	t.Log(r.stderr)
	for _, want := range []string{
		"## Queue CLI: pop with 50 pending",
		"## JSON Lines CLI: append one line to a 64 KiB file",
		"## Journal with 5 records",
		"## Store: one field of a map document",
		"## Store: 4 processes vs 1",
		"| journal Append, 128 B |",
		"| queue push+pop+ack, 256 B |",
		"## Journal at 256 writers",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no %q in\n%s", want, r.stdout)
		}
	}
}

func TestBenchScaleRefusesBadSizes(t *testing.T) {
	for _, sizes := range []string{"", "0", "-5", "10,x"} {
		r := runCLI(t, nil, "bench", "scale", "--doc-sizes", sizes, "--dir", testdir.New(t))
		if r.code != exitUsage {
			t.Errorf("--doc-sizes %q: %v, want exit %d", sizes, r, exitUsage)
		}
	}
}
