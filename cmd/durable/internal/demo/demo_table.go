package demo

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

// demoLogRow is one line of the closing table of the log writers.
type demoLogRow struct {
	Writer    string `json:"writer"`
	Kills     int    `json:"kills"`
	PowerCuts int    `json:"power_cuts"`
	crashtest.LogTally
	MustHold bool `json:"must_hold"`
}

// Result is what "durable demo --json" prints.
type Result = demoResult

// demoResult is what --json prints.
type demoResult struct {
	Seed       uint64          `json:"seed"`
	Size       int             `json:"size"`
	Rows       []*demoRow      `json:"writers"`
	Logs       []*demoLogRow   `json:"logs,omitempty"`
	Queues     []*demoQueueRow `json:"queues,omitempty"`
	OAuth      []*demoOAuthRow `json:"oauth,omitempty"`
	Notes      []string        `json:"notes,omitempty"`
	Violations []string        `json:"violations,omitempty"` // the first rounds a must-hold writer failed
	OK         bool            `json:"ok"`
	Passes     int             `json:"passes"` // how often the phases ran (more than 1 with --long)
	Seconds    float64         `json:"seconds"`
}

func phaseLine(p demoPhase, t crashtest.Tally) string {
	return fmt.Sprintf("%-44s %4d/%-4d ok %-4d torn %-3d empty %-3d missing %-3d rolled back %d",
		p.label, t.Rounds, p.rounds, t.OK, t.Torn, t.Empty, t.Missing, t.RolledBack)
}

func logPhaseLine(p demoPhase, t crashtest.LogTally) string {
	return fmt.Sprintf("%-44s %4d/%-4d ok %-4d torn %-3d lost acked %-4d corrupt %-3d repaired %d",
		p.label, t.Rounds, p.rounds, t.OK, t.Torn, t.Lost, t.Corrupt, t.Repaired)
}

func (d *demo) intro() {
	w := d.cli.stdout
	if d.cfg.only["file"] {
		fmt.Fprintf(w, "A writer process rewrites a %s JSON file again and again and acknowledges\n", sizeString(d.cfg.size))
		fmt.Fprintf(w, "each write that returned. It is crashed at random moments; then the file must\n")
		fmt.Fprintf(w, "be complete and no older than the last acknowledged write.\n")
		fmt.Fprintf(w, "Writers: os.WriteFile (what most programs do) and durable.WriteFile.\n")
	}
	if d.cfg.only["log"] || d.cfg.only["jsonl"] {
		fmt.Fprintf(w, "Log writers append records (sequence number and checksum) and acknowledge each\n")
		fmt.Fprintf(w, "append that returned. After each crash every acknowledged record must be there,\n")
		fmt.Fprintf(w, "intact and once, and nothing torn.\n")
	}
	if d.cfg.only["log"] {
		fmt.Fprintf(w, "Log writers: bufio.Writer on an append-only file (no fsync) and journal.Append.\n")
	}
	if d.cfg.only["jsonl"] {
		fmt.Fprintf(w, "JSON Lines writers: O_APPEND write (no fsync) and jsonl.Append.\n")
	}
	if d.cfg.only["store"] {
		fmt.Fprintf(w, "Store writers: %d processes at once increment their own counters in one JSON\n", storeProcs)
		fmt.Fprintf(w, "document and acknowledge each increment that returned. After each crash the\n")
		fmt.Fprintf(w, "document must parse and hold every acknowledged increment (a lower counter is a\n")
		fmt.Fprintf(w, "lost update: rolled back). Writers: read + os.WriteFile, no lock (what most\n")
		fmt.Fprintf(w, "programs do with their settings), and store.Update.\n")
	}
	if d.cfg.only["queue"] {
		fmt.Fprintf(w, "Queues: %d producer and %d consumer processes share a queue. After each crash\n", queueProducers, queueConsumers)
		fmt.Fprintf(w, "every message whose push returned must be in the queue unless it was\n")
		fmt.Fprintf(w, "acknowledged (a killed consumer's message comes back), and no acknowledged one\n")
		fmt.Fprintf(w, "may be there again. Queues: a log file plus an offset file, no fsync, a message\n")
		fmt.Fprintf(w, "consumed once handed out (what popular Go disk queues do), and package queue.\n")
	}
	if d.cfg.only["oauth"] {
		fmt.Fprintf(w, "OAuth: %d processes share one login whose refresh token works once, and ask\n", oauthProcs)
		fmt.Fprintf(w, "for a valid access token while it expires every ~300ms. Token keepers: read the\n")
		fmt.Fprintf(w, "file, refresh, os.WriteFile (what programs do), and oauth.TokenSource.\n")
	}
	if d.cfg.long > 0 {
		fmt.Fprintf(w, "Running the phases over and over for %s, then the totals.\n", d.cfg.long)
	}
	fmt.Fprintf(w, "Seed %d.\n\n", d.cfg.seed)
}

func (d *demo) report(ok, failed bool, took time.Duration) {
	w := d.cli.stdout
	fmt.Fprintln(w)
	if len(d.rows) > 0 {
		writeTable(w, d.rows)
		fmt.Fprintln(w)
	}
	if len(d.logRows) > 0 {
		writeLogTable(w, d.logRows)
		fmt.Fprintln(w)
	}
	if len(d.queueRows) > 0 {
		writeQueueTable(w, d.queueRows)
		fmt.Fprintln(w)
	}
	if len(d.oauthRows) > 0 {
		writeOAuthTable(w, d.oauthRows)
		fmt.Fprintln(w)
	}
	for _, r := range d.rows {
		crashes := plural(r.Rounds, "crash", "crashes")
		writeVerdict(w, r.Writer, r.MustHold, r.Violations(), crashes, "--rounds",
			"every file complete and current after "+crashes,
			"left a bad file",
			"left an empty, torn or rolled-back file")
	}
	for _, r := range d.logRows {
		crashes := plural(r.Rounds, "crash", "crashes")
		held := "every acknowledged record present and intact after " + crashes
		if r.Repaired > 0 {
			held += fmt.Sprintf(" (%s repaired on open)", plural(r.Repaired, "torn tail", "torn tails"))
		}
		writeVerdict(w, r.Writer, r.MustHold, r.Violations(), crashes, "--log-rounds", held,
			"left a torn, lost or corrupt record",
			fmt.Sprintf("left a torn record or lost acknowledged ones (%s lost)", plural(r.Lost, "record", "records")))
	}
	for _, r := range d.queueRows {
		crashes := plural(r.Rounds, "crash", "crashes")
		writeVerdict(w, r.Writer, r.MustHold, r.Violations(), crashes, "--queue-rounds",
			"no message lost, none delivered again after its ack, after "+crashes,
			"lost or redelivered messages",
			fmt.Sprintf("lost or redelivered messages (%s lost, %d redelivered)", plural(r.Lost, "message", "messages"), r.Redelivered))
	}
	for _, r := range d.oauthRows {
		switch {
		case r.MustHold && r.Violations() == 0:
			fmt.Fprintf(w, "%s: no refresh refused, newest token kept, in %s (%d refreshes for %d calls).\n",
				r.Writer, plural(r.Rounds, "round", "rounds"), r.Refreshes, r.Calls)
		case r.MustHold:
			fmt.Fprintf(w, "%s: BROKEN: %d refreshes refused, %d torn reads, %d rounds logged out.\n", r.Writer, r.Refused, r.Torn, r.LoggedOut)
		default:
			fmt.Fprintf(w, "%s: %d refreshes refused (invalid_grant), %d torn reads; logged out for good in %d of %s.\n",
				r.Writer, r.Refused, r.Torn, r.LoggedOut, plural(r.Rounds, "round", "rounds"))
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

// writeVerdict says how a writer fared in its crashes ("5 crashes"). One
// that must hold either held, or is BROKEN: "N of crashes broke". One that
// need not hold either lost something, "N of crashes fell", or survived
// by luck this time: flag gives it more crashes.
func writeVerdict(w io.Writer, writer string, mustHold bool, violations int, crashes, flag, held, broke, fell string) {
	switch {
	case mustHold && violations == 0:
		fmt.Fprintf(w, "%s: %s.\n", writer, held)
	case mustHold:
		fmt.Fprintf(w, "%s: BROKEN: %d of %s %s.\n", writer, violations, crashes, broke)
	case violations > 0:
		fmt.Fprintf(w, "%s: %d of %s %s.\n", writer, violations, crashes, fell)
	default:
		fmt.Fprintf(w, "%s: survived %s this time (run again, or with more %s).\n", writer, crashes, flag)
	}
}

// writeTable prints the rows with the writer names left-aligned and the
// counts right-aligned under their headers.
func writeTable(w io.Writer, rows []*demoRow) {
	writeRows(w, []string{"writer", "kills", "power cuts", "ok", "torn/corrupt", "empty", "missing", "rolled back"},
		rows, func(r *demoRow) (string, []int) {
			return r.Writer, []int{r.Kills, r.PowerCuts, r.OK, r.Torn, r.Empty, r.Missing, r.RolledBack}
		})
}

// writeLogTable prints the log writers' rows: crashes, the rounds that
// left the log ok, those that left a torn last record, the acknowledged
// records lost, the corrupt records (and failed checks), and the torn tails
// the log's own recovery cut.
func writeLogTable(w io.Writer, rows []*demoLogRow) {
	writeRows(w, []string{"log writer", "kills", "power cuts", "ok", "torn", "lost acked", "corrupt", "repaired"},
		rows, func(r *demoLogRow) (string, []int) {
			return r.Writer, []int{r.Kills, r.PowerCuts, r.OK, r.Torn, r.Lost, r.Corrupt, r.Repaired}
		})
}

// writeRows prints a table of rows under head: each row's writer, then
// its counts.
func writeRows[R any](w io.Writer, head []string, rows []R, cells func(R) (string, []int)) {
	lines := [][]string{head}
	for _, r := range rows {
		writer, counts := cells(r)
		line := []string{writer}
		for _, n := range counts {
			line = append(line, strconv.Itoa(n))
		}
		lines = append(lines, line)
	}
	writeCells(w, lines)
}

// rowFor returns the row in *rows that is writer's, adding a new one
// the first time.
func rowFor[R any](rows *[]*R, isWriter func(*R) bool, newRow func() *R) *R {
	for _, r := range *rows {
		if isWriter(r) {
			return r
		}
	}
	r := newRow()
	*rows = append(*rows, r)
	return r
}

// writeCells aligns lines of cells: the first column left, the others right.
func writeCells(w io.Writer, lines [][]string) {
	width := make([]int, len(lines[0]))
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
