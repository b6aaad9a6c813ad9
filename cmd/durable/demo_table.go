package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/durable-go/durable/internal/crashtest"
)

// demoRow is one line of the closing table: everything one writer went
// through.
type demoRow struct {
	Writer    string `json:"writer"`
	Kills     int    `json:"kills"`
	PowerCuts int    `json:"power_cuts"`
	crashtest.Tally
	// MustHold marks the writers that promise atomicity and durability:
	// one violation fails the demo.
	MustHold bool `json:"must_hold"`
}

// demoResult is what --json prints.
type demoResult struct {
	Seed       uint64     `json:"seed"`
	Size       int        `json:"size"`
	Rows       []*demoRow `json:"writers"`
	Notes      []string   `json:"notes,omitempty"`
	Violations []string   `json:"violations,omitempty"` // the first rounds a must-hold writer failed
	OK         bool       `json:"ok"`
	Seconds    float64    `json:"seconds"`
}

func phaseLine(p demoPhase, t crashtest.Tally) string {
	return fmt.Sprintf("%-36s %4d/%-4d ok %-4d torn %-3d empty %-3d missing %-3d rolled back %d",
		p.label, t.Rounds, p.rounds, t.OK, t.Torn, t.Empty, t.Missing, t.RolledBack)
}

func (d *demo) intro() {
	w := d.cli.stdout
	fmt.Fprintf(w, "A writer process rewrites a %s JSON file again and again and acknowledges\n", sizeString(d.cfg.size))
	fmt.Fprintf(w, "each write that returned. It is crashed at random moments; then the file must\n")
	fmt.Fprintf(w, "be complete and no older than the last acknowledged write.\n")
	fmt.Fprintf(w, "Writers: os.WriteFile (what most programs do) and durable.WriteFile. Seed %d.\n\n", d.cfg.seed)
}

func (d *demo) report(ok, failed bool, took time.Duration) {
	w := d.cli.stdout
	fmt.Fprintln(w)
	writeTable(w, d.rows)
	fmt.Fprintln(w)
	for _, r := range d.rows {
		crashes := plural(r.Rounds, "crash", "crashes")
		switch {
		case r.MustHold && r.Violations() == 0:
			fmt.Fprintf(w, "%s: every file complete and current after %s.\n", r.Writer, crashes)
		case r.MustHold:
			fmt.Fprintf(w, "%s: BROKEN: %d of %s left a bad file.\n", r.Writer, r.Violations(), crashes)
		case r.Violations() > 0:
			fmt.Fprintf(w, "%s: %d of %s left an empty, torn or rolled-back file.\n", r.Writer, r.Violations(), crashes)
		default:
			fmt.Fprintf(w, "%s: survived %s this time (run again, or with more --rounds).\n", r.Writer, crashes)
		}
	}
	for _, v := range d.broken {
		fmt.Fprintf(w, "  %s\n", v)
	}
	switch {
	case failed:
		fmt.Fprintf(w, "The demo did not finish (%.0fs).\n", took.Seconds())
	case ok:
		fmt.Fprintf(w, "Done in %.0fs.\n", took.Seconds())
	}
}

// writeTable prints the rows with the writer names left-aligned and the
// counts right-aligned under their headers.
func writeTable(w io.Writer, rows []*demoRow) {
	head := []string{"writer", "kills", "power cuts", "ok", "torn/corrupt", "empty", "missing", "rolled back"}
	lines := [][]string{head}
	for _, r := range rows {
		line := []string{r.Writer}
		for _, n := range []int{r.Kills, r.PowerCuts, r.OK, r.Torn, r.Empty, r.Missing, r.RolledBack} {
			line = append(line, strconv.Itoa(n))
		}
		lines = append(lines, line)
	}
	width := make([]int, len(head))
	for _, line := range lines {
		for i, cell := range line {
			width[i] = max(width[i], len(cell))
		}
	}
	for _, line := range lines {
		var b strings.Builder
		for i, cell := range line {
			switch {
			case i == 0:
				fmt.Fprintf(&b, "%-*s", width[i], cell)
			default:
				fmt.Fprintf(&b, "  %*s", width[i], cell)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func sizeString(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return strings.TrimSpace(fmt.Sprintf("%d-byte", n))
}
