package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// config is one run.
type config struct {
	Dir  string // where the workloads write; "" for a temporary directory in the current one
	Out  string // where RESULTS.md and chart.svg go
	Keep bool   // keep what the workloads wrote
	Plan plan
	Mode string         // "full", "quick", "smoke": said in the report
	Note string         // what the person running it wants said about the run
	Only *regexp.Regexp // nil: every workload
}

// run measures every workload, writes the report and the chart to cfg.Out
// and the report to stdout; progress goes to progress.
func run(cfg config, stdout, progress io.Writer) (*Report, error) {
	rep, err := collect(cfg, progress)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	md := rep.markdown()
	if err := os.WriteFile(filepath.Join(cfg.Out, "RESULTS.md"), md, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(cfg.Out, "chart.svg"), rep.chart(), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(cfg.Out, "SUMMARY.md"), rep.summary(), 0o644); err != nil {
		return nil, err
	}
	if _, err := stdout.Write(md); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "wrote RESULTS.md, SUMMARY.md and chart.svg in %s\n", cfg.Out)
	return rep, nil
}

// collect runs the probes and the workloads and gathers the report.
func collect(cfg config, progress io.Writer) (rep *Report, err error) {
	root := cfg.Dir
	if root == "" {
		// Beside the program, not in $TMPDIR: /tmp is often a tmpfs,
		// where fsync costs nothing and the numbers mean nothing.
		if root, err = os.MkdirTemp(".", ".benchdata-"); err != nil {
			return nil, err
		}
		if !cfg.Keep {
			defer func() { err = errors.Join(err, os.RemoveAll(root)) }()
		}
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	cfg.Plan.tools = &tools{root: root}
	start := time.Now()
	rep = &Report{Machine: machine(root), Started: start, Mode: cfg.Mode, Note: cfg.Note, Evidence: map[string]Evidence{}}
	var ws []Workload
	for _, w := range workloads(cfg.Plan) {
		if cfg.Only == nil || cfg.Only.MatchString(w.ID) {
			ws = append(ws, w)
		}
	}

	// Probes first, one process at a time, so that none of them runs
	// beside a measurement.
	pr := newProber(root, cfg.Plan.ProbeOps)
	if pr.skip != "" {
		fmt.Fprintln(progress, "durability probes skipped:", pr.skip)
	}
	for _, w := range ws {
		if !w.Probe {
			continue
		}
		for _, c := range w.Contenders {
			t := time.Now()
			ev := pr.probe(w.Family, c)
			rep.Evidence[w.Family+"/"+c.ID] = ev
			if ev.Skip == "" {
				fmt.Fprintf(progress, "probe %-8s %-10s %-14s %v\n", w.Family, c.ID, verdictOf(c, ev).Level.Mark(), time.Since(t).Round(time.Millisecond))
			}
			if ev.Err != nil {
				fmt.Fprintf(progress, "  probe failed: %v\n", ev.Err)
			}
		}
	}

	for _, w := range ws {
		t := time.Now()
		fmt.Fprintf(progress, "measuring %s (%d contenders, %s)...\n", w.ID, len(w.Contenders), writersName(w.Writers))
		res := measure(w, root, cfg.Plan)
		for _, r := range res {
			if r.Err != nil {
				fmt.Fprintf(progress, "  %s: %v\n", r.Contender.Name, r.Err)
			}
		}
		rep.Workloads = append(rep.Workloads, WorkloadResult{Workload: w, Results: res})
		fmt.Fprintf(progress, "  done in %v\n", time.Since(t).Round(time.Millisecond))
	}
	if cfg.Only == nil || cfg.Only.MatchString("footprint") {
		fmt.Fprintf(progress, "measuring footprint (%d records each)...\n", footprintRecords)
		rep.Footprints = footprints(root, footprintRecords)
		for _, f := range rep.Footprints {
			if f.Err != nil {
				fmt.Fprintf(progress, "  %s: %v\n", f.Name, f.Err)
			}
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}
