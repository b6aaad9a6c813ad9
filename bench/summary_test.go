package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestQuartilesAndRoundRatios(t *testing.T) {
	a := Result{PerRound: []float64{10, 20, 0, 40, 50, 60}}
	b := Result{PerRound: []float64{10, 10, 10, 10, 10}}
	got := roundRatios(a, b)
	// Round 3 is missed by a, round 6 by b.
	want := []float64{1, 2, 4, 5}
	if len(got) != len(want) {
		t.Fatalf("ratios %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ratios %v, want %v", got, want)
		}
	}
	lo, hi, ok := quartiles([]float64{5, 1, 4, 2, 3, 8, 7, 6})
	if !ok || lo != 3 || hi != 7 {
		t.Errorf("quartiles %v %v %v, want 3 7 true", lo, hi, ok)
	}
	if _, _, ok := quartiles([]float64{1, 2, 3}); ok {
		t.Error("quartiles of three values")
	}
}

func TestSpliceReadme(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	before := "# x\n\nintro\n\n" + summaryBegin + "\nold table\n" + summaryEnd + "\n\nafter\n"
	if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := spliceReadme(path, []byte("| new |\n")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# x\n\nintro\n\n" + summaryBegin + "\n| new |\n" + summaryEnd + "\n\nafter\n"
	if string(got) != want {
		t.Errorf("spliced:\n%s\nwant:\n%s", got, want)
	}
	// Twice gives the same file.
	if err := spliceReadme(path, []byte("| new |\n")); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(path); string(again) != want {
		t.Error("splicing again changed the file")
	}
	if err := os.WriteFile(path, []byte("no markers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := spliceReadme(path, []byte("x")); err == nil {
		t.Error("spliced into a file without markers")
	}
	if got, _ := os.ReadFile(path); string(got) != "no markers\n" {
		t.Error("a refused splice changed the file")
	}
}

// TestSummaryFromAReport: the README's lines come from the report's rows,
// with the floor's ratio and its range over rounds.
func TestSummaryFromAReport(t *testing.T) {
	w := Workload{ID: "append-16w", Family: "append", Title: "t", Writers: 16, Contenders: []Contender{
		{ID: "journal", Name: "durable journal", Claim: Claim{Level: Durable}},
		{ID: "raw", Name: "raw", Floor: true, Claim: Claim{Level: Durable}},
	}}
	rep := &Report{Mode: "full", Started: time.Unix(0, 0), Evidence: map[string]Evidence{}, Workloads: []WorkloadResult{{
		Workload: w,
		Results: []Result{
			{Contender: w.Contenders[0], OpsPerSec: 2000, Ops: 100, Median: time.Millisecond, PerRound: []float64{2000, 3000, 1500, 2000}},
			{Contender: w.Contenders[1], OpsPerSec: 1000, Ops: 50, Median: time.Millisecond, PerRound: []float64{1000, 1000, 1000, 1000}},
		},
	}}}
	s := string(rep.summary())
	for _, want := range []string{"| append, 16 writers | durable journal |", "2,000 ops/s (2.00× one fdatasync per writer, the floor here, 2.00–3.00×)"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestRepoRelative(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("git", "rev-parse", "--show-toplevel").Run(); err != nil {
		t.Skipf("not in a git work tree: %v", err)
	}
	if got := repoRelative(filepath.Join(wd, ".benchdata-12345")); got != "bench/.benchdata-*" {
		t.Errorf("repoRelative = %q, want bench/.benchdata-*", got)
	}
	if got := repoRelative(t.TempDir()); strings.Contains(got, "/") {
		t.Errorf("repoRelative of a directory outside the repository = %q, want no path", got)
	}
}
