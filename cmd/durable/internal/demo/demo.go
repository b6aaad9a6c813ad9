// Package demo is "durable demo": kill -9 and power cuts under naive and
// durable writers, live, and the writer children it re-executes the
// durable binary as (the hidden verb CrashWriterName).
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/durable-go/durable/internal/crashtest"
)

// Summary, About and Example are the help of "durable demo".
const (
	Summary = "kill -9 and cut the power under naive and durable files, logs, stores and queues, live"
	About   = `A writer process rewrites a JSON file in a loop and acknowledges every write
that returned. The demo kills it (kill -9) at random moments, and, as root with
loop devices, cuts the power under it: a loop-mounted ext4 and xfs are shut
down without flushing their logs, then mounted again. After each crash it
checks the file: complete (every version carries a checksum), and no older
than the last acknowledged write.

It runs the same torture on os.WriteFile, which most programs use, and on
durable.WriteFile. os.WriteFile truncates, then writes, and never fsyncs, so
it is expected to leave empty, torn or rolled-back files; durable.WriteFile
must never.

The log phases do the same to append-only logs. A writer appends records
(each with a sequence number and a checksum) and acknowledges each append
that returned; after each crash the log is read the way its users would,
and every acknowledged record must be there, intact and once, with nothing
torn or garbled. "log" pits a bufio.Writer on an append-only file (no fsync,
as most audit logs are written) against journal.Append, checked with
journal.Open (which recovers a torn tail) and journal.Verify. "jsonl" pits
plain O_APPEND writes (no fsync) against jsonl.Append, checked with
jsonl.Open (which repairs a torn last line). They run fewer rounds
(--log-rounds, --log-power-cuts).

The store phase runs 4 processes at once, each incrementing its own counter
in one JSON document and acknowledging every increment that returned, then
kills them all (or cuts the power). The document must parse and hold every
acknowledged increment. It pits read + os.WriteFile without a lock (what
programs do with their settings: interleaved writers lose each other's
updates) against store.Update (--store-rounds).

The queue phase runs 2 producers and 2 consumers on one queue, then kills
them all (or cuts the power). Every message whose push returned must still
be there unless it was acknowledged, the message a killed consumer was
working on must come back, and an acknowledged message must never come
back. It pits an append-only log with an offset file (no fsync; a message
counts as consumed once handed out, as in popular Go disk queues) against
package queue (--queue-rounds).

The oauth phase starts a token endpoint on 127.0.0.1 whose refresh tokens
rotate (each works once) and whose access tokens last ~300ms, and 4
processes that each ask for a valid token 120 times. It pits reading the
token file, refreshing, and os.WriteFile against oauth.TokenSource, which
must never present a used refresh token and must leave the newest one in
the file (--oauth-rounds).

--long DURATION runs all of it over and over, each pass with new crash
timings, and prints the totals at the end (Ctrl-C stops early and still
prints them).

Exit code 0 means every durable writer (durable.WriteFile, journal.Append,
jsonl.Append, store.Update, queue, oauth.TokenSource) had no violation.

Everything happens in a scratch directory under --dir, removed at the end.`
	Example = `durable demo
durable demo --rounds 500 --power-cuts 50 --seed 42
durable demo --only log,jsonl --log-rounds 200
durable demo --long 1h --power-cuts 50`
)

// Config is a parsed "durable demo" command line: AddFlags fills it.
type Config struct {
	cfg  demoConfig
	only *string
}

type demoConfig struct {
	rounds       int    // kills per writer
	powerCuts    int    // power cuts per writer and filesystem
	size         int    // document size in bytes
	seed         uint64 // crash timing
	logRounds    int    // kills per log writer
	logPowerCuts int    // power cuts per writer and filesystem of the log, jsonl, store and queue suites
	storeRounds  int    // kills per store writer (each kill ends storeProcs processes)
	queueRounds  int    // kills per queue (each kill ends its producers and consumers)
	oauthRounds  int    // refresh races per token keeper
	long         time.Duration
	only         map[string]bool
	dir          string // where the scratch directory goes
	asJSON       bool
}

// AddFlags adds the demo's flags to fs and returns the Config they fill.
func AddFlags(fs *flag.FlagSet) *Config {
	c := &Config{}
	cfg := &c.cfg
	fs.IntVar(&cfg.rounds, "rounds", 150, "kill -9 rounds per file writer")
	fs.IntVar(&cfg.powerCuts, "power-cuts", 20, "power cuts per file writer and filesystem (needs root and loop devices; 0 to skip)")
	fs.IntVar(&cfg.size, "size", crashtest.DefaultSize, "size of the file the writers rewrite, in `bytes`")
	fs.Uint64Var(&cfg.seed, "seed", 0, "seed for the crash timing (0: random, printed)")
	fs.StringVar(&cfg.dir, "dir", os.TempDir(), "`directory` for the scratch directory (and the loop images)")
	fs.IntVar(&cfg.logRounds, "log-rounds", 60, "kill -9 rounds per log writer (log and jsonl)")
	fs.IntVar(&cfg.logPowerCuts, "log-power-cuts", 10, "power cuts per writer and filesystem in the log, jsonl, store and queue suites (0 to skip)")
	fs.IntVar(&cfg.storeRounds, "store-rounds", 40, "kill -9 rounds per store writer (each kills all its processes)")
	fs.IntVar(&cfg.queueRounds, "queue-rounds", 40, "kill -9 rounds per queue (each kills all producers and consumers)")
	fs.IntVar(&cfg.oauthRounds, "oauth-rounds", 3, "rounds of processes racing to refresh one rotating OAuth token, per token keeper")
	fs.DurationVar(&cfg.long, "long", 0, "run the torture over and over for this `duration`, then print the totals (Ctrl-C stops early)")
	c.only = fs.String("only", strings.Join(demoSuiteNames(), ","), "comma-separated `capabilities` to torture: "+strings.Join(demoSuiteNames(), ", "))
	fs.BoolVar(&cfg.asJSON, "json", false, "print the results as JSON on stdout (progress goes to stderr)")
	return c
}

// JSON reports whether --json was given.
func (c *Config) JSON() bool { return c.cfg.asJSON }

// Check checks the parsed flags and the arguments left after them; its
// error is a usage error.
func (c *Config) Check(args []string) error {
	cfg := &c.cfg
	switch {
	case len(args) != 0:
		return errors.New("takes no arguments")
	case cfg.rounds < 0 || cfg.powerCuts < 0 || cfg.logRounds < 0 || cfg.logPowerCuts < 0 || cfg.storeRounds < 0 || cfg.queueRounds < 0 || cfg.oauthRounds < 0:
		return errors.New("--rounds, --power-cuts, --log-rounds, --log-power-cuts, --store-rounds, --queue-rounds and --oauth-rounds cannot be negative")
	case cfg.long < 0:
		return errors.New("--long cannot be negative")
	case cfg.size < 256 || cfg.size > 64<<20:
		return errors.New("--size must be between 256 bytes and 64 MiB")
	}
	cfg.only = map[string]bool{}
	for _, name := range strings.Split(*c.only, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(demoSuiteNames(), name) {
			return fmt.Errorf("--only: unknown capability %q (choose from %s)", name, strings.Join(demoSuiteNames(), ", "))
		}
		cfg.only[name] = true
	}
	if len(cfg.only) == 0 {
		return errors.New("--only names no capability")
	}
	if cfg.seed == 0 {
		cfg.seed = rand.Uint64N(1 << 32) // short enough to retype
	}
	return nil
}

// Run runs the demo configured by c, printing to stdout (progress to
// stderr with --json) until it ends or ctx is cancelled, and returns the
// exit code: 0 when no durable writer had a violation. It re-executes this
// executable as its writer children, which run the verb CrashWriterName.
func Run(ctx context.Context, stdout, stderr io.Writer, c *Config) int {
	cl := &cli{ctx: ctx, stdout: stdout, stderr: stderr}
	cfg := c.cfg
	self, err := os.Executable()
	if err != nil {
		return cl.fail(fmt.Errorf("demo: cannot find this executable to run the writers: %w", err), cfg.asJSON)
	}
	scratch, err := os.MkdirTemp(cfg.dir, "durable-demo-")
	if err != nil {
		return cl.fail(fmt.Errorf("demo: %w", err), cfg.asJSON)
	}
	defer os.RemoveAll(scratch)

	d := &demo{cli: cl, cfg: cfg, self: self, scratch: scratch}
	d.prog = newProgress(stdout)
	if cfg.asJSON {
		d.prog = newProgress(stderr)
	}
	return d.run()
}

// cli is where the demo reports: the streams and the context of the verb.
type cli struct {
	ctx            context.Context
	stdout, stderr io.Writer
}

// Exit codes, as in the CLI's table.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// fail reports err as the CLI does and returns exitFailure.
func (c *cli) fail(err error, asJSON bool) int {
	if asJSON {
		c.printJSON(struct {
			Error string `json:"error"`
			Code  int    `json:"code"`
		}{err.Error(), exitFailure})
		return exitFailure
	}
	fmt.Fprintf(c.stderr, "durable: %v\n", err)
	return exitFailure
}

// printJSON writes v as indented JSON to stdout.
func (c *cli) printJSON(v any) {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// demo is one run of the demo: its phases fill the table.
type demo struct {
	cli       *cli
	cfg       demoConfig
	self      string // the executable the writer children run
	scratch   string
	prog      *progress
	rows      []*demoRow      // the file and store writers
	logRows   []*demoLogRow   // the log writers
	queueRows []*demoQueueRow // the queues
	oauthRows []*demoOAuthRow // the token keepers
	cycle     int             // with --long: the current pass over the phases, from 1
	notes     []string        // phases that could not run, and why
	broken    []string        // the first violations of writers that must hold
}

// A demoPhase is one series of crashes against one writer.
type demoPhase struct {
	kind     string // "kill" or "power cut": the table column it counts in
	label    string // progress label
	writer   string // the table row
	mustHold bool   // a violation fails the demo
	rounds   int
	// run runs the rounds, calling report after each. A *skipError means
	// the phase could not start here (say, mkfs failed); it is noted, not
	// counted as a failure.
	run func(d *demo, report func(crashtest.Round)) error
	// runLog is run for a log phase (which has no run).
	runLog func(d *demo, report func(crashtest.LogRound)) error
	// runQueue is run for a queue phase.
	runQueue func(d *demo, report func(queueVerdict)) error
	// runOAuth is run for an OAuth phase: it adds to row, calling
	// progress after each round.
	runOAuth func(d *demo, row *demoOAuthRow, progress func()) error
}

// name is the label without its column padding.
func (p demoPhase) name() string { return strings.Join(strings.Fields(p.label), " ") }

type skipError struct{ error }

// demoSuite is one capability the demo tortures: --only names it.
type demoSuite struct {
	name   string
	phases []func(*demo) []demoPhase
}

// demoSuites lists what the demo tortures, in order. Adding a capability
// (the store, the queue) is one line here and a function that returns its
// phases.
func demoSuites() []demoSuite {
	return []demoSuite{
		{"file", []func(*demo) []demoPhase{
			killPhases,     // os.WriteFile and durable.WriteFile under kill -9
			powerCutPhases, // the same under power cuts on ext4 and xfs
		}},
		{"log", []func(*demo) []demoPhase{logSuite("log")}},     // bufio.Writer and journal.Append
		{"jsonl", []func(*demo) []demoPhase{logSuite("jsonl")}}, // O_APPEND writes and jsonl.Append
		{"store", []func(*demo) []demoPhase{storeSuite}},        // read+os.WriteFile and store.Update, several processes
		{"queue", []func(*demo) []demoPhase{queueSuite}},        // an offset file and a log, and queue
		{"oauth", []func(*demo) []demoPhase{oauthSuite}},        // read+refresh+os.WriteFile and oauth.TokenSource, racing
	}
}

func demoSuiteNames() []string {
	var names []string
	for _, s := range demoSuites() {
		names = append(names, s.name)
	}
	return names
}

// phases returns the phases of the capabilities --only selected.
func (d *demo) phases() []func(*demo) []demoPhase {
	var fs []func(*demo) []demoPhase
	for _, s := range demoSuites() {
		if d.cfg.only[s.name] {
			fs = append(fs, s.phases...)
		}
	}
	return fs
}

func (d *demo) run() int {
	start := time.Now()
	if !d.cfg.asJSON {
		d.intro()
	}
	failed, stopped := false, false
	root := d.scratch
	for d.cycle = 1; ; d.cycle++ {
		if d.cfg.long > 0 {
			// Each pass gets a scratch directory of its own, removed
			// after it, so the phases start afresh and the disk does not
			// fill up however long the demo runs.
			d.scratch = filepath.Join(root, fmt.Sprintf("pass-%d", d.cycle))
			if err := os.Mkdir(d.scratch, 0o700); err != nil {
				fmt.Fprintf(d.cli.stderr, "durable: demo: %v\n", err)
				failed = true
				break
			}
			d.prog.finish(fmt.Sprintf("pass %d (%s of %s)", d.cycle, time.Since(start).Round(time.Second), d.cfg.long))
		}
		failed, stopped = d.pass(start)
		if d.cfg.long > 0 {
			os.RemoveAll(d.scratch)
		}
		if failed || stopped || d.cfg.long == 0 || time.Since(start) >= d.cfg.long {
			break
		}
	}
	ok := !failed
	for _, r := range d.rows {
		if r.MustHold && r.Violations() > 0 {
			ok = false
		}
	}
	for _, r := range d.logRows {
		if r.MustHold && r.Violations() > 0 {
			ok = false
		}
	}
	for _, r := range d.queueRows {
		if r.MustHold && r.Violations() > 0 {
			ok = false
		}
	}
	for _, r := range d.oauthRows {
		if r.MustHold && r.Violations() > 0 {
			ok = false
		}
	}
	if d.cfg.asJSON {
		d.cli.printJSON(demoResult{Seed: d.cfg.seed, Size: d.cfg.size, Rows: d.rows, Logs: d.logRows, Queues: d.queueRows, OAuth: d.oauthRows,
			Notes: d.notes, Violations: d.broken, OK: ok, Passes: d.cycle, Seconds: time.Since(start).Seconds()})
	} else {
		d.report(ok, failed, time.Since(start))
	}
	if !ok {
		return exitFailure
	}
	return exitOK
}

// pass runs every selected phase once. With --long it stops early, between
// phases, when the time is up or on Ctrl-C (stopped); failed means a
// phase's harness failed.
func (d *demo) pass(start time.Time) (failed, stopped bool) {
	for _, suite := range d.phases() {
		for _, p := range suite(d) {
			if d.cfg.long > 0 && (time.Since(start) >= d.cfg.long || d.cli.ctx.Err() != nil) {
				return false, true
			}
			var err error
			switch {
			case p.runLog != nil:
				err = d.runLogPhase(p)
			case p.runQueue != nil:
				err = d.runQueuePhase(p)
			case p.runOAuth != nil:
				err = d.runOAuthPhase(p)
			default:
				err = d.runPhase(p)
			}
			if err != nil {
				d.prog.finish("")
				if d.cli.ctx.Err() != nil {
					if d.cfg.long > 0 {
						// Ctrl-C ends a long run: its totals stand.
						d.note(fmt.Sprintf("stopped by an interrupt in pass %d, during %s (its last round is not counted)", d.cycle, p.name()))
						return false, true
					}
					// Ctrl-C reaches the writer children too, so the
					// error may be theirs rather than the context's.
					err = errors.New("interrupted")
				}
				fmt.Fprintf(d.cli.stderr, "durable: demo: %s: %v\n", p.name(), err)
				return true, false
			}
		}
		if d.cli.ctx.Err() != nil {
			if d.cfg.long > 0 {
				return false, true
			}
			return true, false
		}
	}
	return false, false
}

func (d *demo) runPhase(p demoPhase) error {
	t, ok, err := runTallied(d, p, func(t *crashtest.Tally, r crashtest.Round) bool {
		t.Add(r.Verdict)
		return !r.Verdict.OK
	}, crashtest.Round.String, func(t crashtest.Tally) string { return phaseLine(p, t) },
		func(report func(crashtest.Round)) error { return p.run(d, report) })
	if ok {
		row := d.row(p.writer, p.mustHold)
		row.Tally.Merge(t)
		countRounds(p.kind, &row.Kills, &row.PowerCuts, t.Rounds)
	}
	return err
}

// runTallied runs a phase whose rounds report verdicts of type V, adding
// them up in a T: it shows the progress line after each, keeps the first
// violations of a writer that must hold, and notes a phase that could not
// start. ok is false for such a phase, which counts nothing.
func runTallied[V any, T any](d *demo, p demoPhase, add func(*T, V) (bad bool), describe func(V) string,
	line func(T) string, run func(report func(V)) error) (tally T, ok bool, err error) {
	begin := time.Now()
	d.prog.update(line(tally))
	err = run(func(v V) {
		if add(&tally, v) && p.mustHold && len(d.broken) < 10 {
			d.broken = append(d.broken, fmt.Sprintf("%s: %s", p.name(), describe(v)))
		}
		d.prog.update(line(tally))
	})
	if se := (*skipError)(nil); errors.As(err, &se) {
		d.prog.finish("")
		d.note(fmt.Sprintf("%s: skipped: %v", p.name(), se.error))
		return tally, false, nil
	}
	if err == nil {
		d.prog.finish(line(tally) + fmt.Sprintf(" (%.0fs)", time.Since(begin).Seconds()))
	}
	return tally, true, err
}

// countRounds adds n rounds to the kills or the power cuts of a row.
func countRounds(kind string, kills, cuts *int, n int) {
	if kind == "kill" {
		*kills += n
	} else {
		*cuts += n
	}
}

// note records why something did not run and shows it at once, once.
func (d *demo) note(msg string) {
	if slices.Contains(d.notes, msg) {
		return
	}
	d.notes = append(d.notes, msg)
	d.prog.finish(msg)
}

func (d *demo) row(writer string, mustHold bool) *demoRow {
	return rowFor(&d.rows, func(r *demoRow) bool { return r.Writer == writer },
		func() *demoRow { return &demoRow{Writer: writer, MustHold: mustHold} })
}

// seedFor gives every phase its own timing seed, derived from the run's.
func (d *demo) seedFor(label string) uint64 {
	h := d.cfg.seed
	for _, b := range []byte(label) {
		h = h*1099511628211 + uint64(b)
	}
	if d.cycle > 1 {
		h = h*1099511628211 + uint64(d.cycle)
	}
	return h | 1
}
