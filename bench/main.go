// Command bench measures durable against the libraries programs use today
// for the same jobs (atomic file replace, append-only logs, documents,
// queues), interleaved in one run on one machine, and checks under strace
// which of them are durable at all.
//
//	go run . [-quick] [-out results]
//
// writes results/RESULTS.md and results/chart.svg and prints the tables.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	ib "github.com/durable-go/durable/internal/bench"
)

func main() {
	if ib.WorkerMain() {
		return
	}
	if spec := os.Getenv(childEnv); spec != "" {
		if err := runChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		return
	}
	if spec := os.Getenv(probeEnv); spec != "" {
		// A child started by a probe, under strace.
		if err := probeChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
		return
	}
	quick := flag.Bool("quick", false, "a short run: fewer rounds, smaller backlogs and files, same workloads")
	smoke := flag.Bool("smoke", false, "what the smoke test runs: every row for a few operations, tiny sizes; numbers mean nothing")
	out := flag.String("out", "results", "directory for RESULTS.md and chart.svg")
	dir := flag.String("dir", "", "directory to run the workloads in (default: a temporary directory in the current one,\n"+
		"so that the disk measured is the one you run from, not a tmpfs /tmp)")
	keep := flag.Bool("keep", false, "keep the files the workloads wrote, and the strace logs")
	only := flag.String("run", "", "run only the workloads whose id matches this regular expression (replace-4k, append-16w, ...)")
	note := flag.String("note", "", "a sentence about the run for RESULTS.md and SUMMARY.md (\"the machine was busy with other builds\")")
	readme := flag.String("readme", "", "after the run, put results/SUMMARY.md between the summary markers of this `file` (../README.md)")
	noRun := flag.Bool("no-run", false, "with -readme: measure nothing, splice the SUMMARY.md that -out holds")
	flag.Parse()
	if *noRun {
		if err := splice(*readme, *out); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}

	cfg := config{Dir: *dir, Out: *out, Keep: *keep, Plan: fullPlan, Mode: "full", Note: *note}
	if *quick {
		cfg.Plan, cfg.Mode = quickPlan, "quick"
	}
	if *smoke {
		cfg.Plan, cfg.Mode = smokePlan, "smoke"
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -run:", err)
			os.Exit(2)
		}
		cfg.Only = re
	}
	if _, err := run(cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *readme != "" {
		if err := splice(*readme, *out); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

// splice puts dir/SUMMARY.md into the README at path.
func splice(path, dir string) error {
	if path == "" {
		return errors.New("-no-run needs -readme")
	}
	summary, err := os.ReadFile(filepath.Join(dir, "SUMMARY.md"))
	if errors.Is(err, fs.ErrNotExist) {
		return errNoSummary
	}
	if err != nil {
		return err
	}
	return spliceReadme(path, summary)
}

var (
	// smokePlan runs every row for a few operations: enough to show the
	// harness works, far too few for the numbers to mean anything.
	smokePlan = plan{Scale: 0, MaxRounds: 3, Slice: 20 * time.Millisecond, ProbeOps: 2,
		Backlog: 1000, JSONLSize: 1e6, DocSizes: []int{1e3, 100e3}}
	fullPlan = plan{Scale: 1, Slice: 200 * time.Millisecond, ProbeOps: 4,
		Backlog: 1_000_000, JSONLSize: 1e9, DocSizes: []int{1e3, 100e3, 1e6, 10e6}}
	quickPlan = plan{Scale: 0.1, Slice: 100 * time.Millisecond, ProbeOps: 3,
		Backlog: 100_000, JSONLSize: 100e6, DocSizes: []int{1e3, 100e3, 1e6}}
)
