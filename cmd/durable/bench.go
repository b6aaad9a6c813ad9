package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/durable-go/durable/internal/bench"
)

func benchVerb() verb {
	return verb{
		name:    "bench",
		args:    "write|update|store|log|queue|scale",
		summary: "measure durable against the raw syscall sequence, in one run",
		about: `Measures durable's operations against the minimal syscall sequence they are
built from, alternating the two in the same run so the machine's noise hits
both alike, and prints Markdown tables with medians and ratios.

  write    WriteFile vs open temp+write+fsync+close+rename+fsync dir, for
           256 B, 4 KiB, 64 KiB and 1 MiB; then 16 goroutines replacing 16
           files in one directory, and 16 replacing one file (coalescing)
  update   Update of a 4 KiB document vs lock+read+replace+unlock; then the
           throughput of 1 and of 16 goroutines (coalescing)
  store    Store.Update of one key in a 1000-key (~100 KiB) document vs
           the raw durable replace of the same bytes; 16 goroutines
           (coalescing) vs 1
  log      journal Append of 128-byte records vs write+fdatasync into a
           preallocated file; throughput of 1, 8 and 64 writers (group
           commit); verification and scan speed and memory on a large log
           (--log-size)
  queue    push+pop+ack of 256-byte messages, 1+1 and 8+8 goroutines
  scale    what must cost the change, not the history (issue 23): the
           CLI's queue pop with --backlog messages pending (vs starting
           a process) and its jsonl append to a --jsonl-size file (vs a
           process doing O_APPEND write+fdatasync), with peak memory; a
           journal's disk use with 5 records; one field of a store
           document of 100 KB, 1 MB and 10 MB vs the raw replace of the
           same bytes; 4 processes vs 1 on one store; 4 processes x 4
           goroutines vs 1 x 16 on a journal and a queue; 256 journal
           writers vs a group-commit floor. --quick shrinks the sizes

The files go in a scratch directory under --dir (removed afterwards): put it
on the filesystem you care about.`,
		example: `durable bench write
durable bench update --rounds 200 --dir /var/tmp
durable bench scale --quick`,
		run: runBench,
	}
}

func runBench(c *cli, args []string) int {
	fs := c.flags()
	rounds := fs.Int("rounds", 100, "latency samples per size (each side)")
	seconds := fs.Duration("duration", 2*time.Second, "time per side for each throughput measurement (three alternations)")
	dir := fs.String("dir", os.TempDir(), "`directory` to measure in")
	logSize := fs.Int64("log-size", 256<<20, "size in `bytes` of the log that bench log verifies and scans")
	backlog := fs.Int("backlog", 1_000_000, "messages pending in the queue that bench scale pops from")
	jsonlSize := fs.Int64("jsonl-size", 1<<30, "size in `bytes` of the file bench scale appends to")
	docSizes := fs.String("doc-sizes", "100000,1000000,10000000", "document sizes in `bytes`, comma-separated, for bench scale's store rows")
	quick := fs.Bool("quick", false, "bench scale with small sizes (10,000 messages, 16 MiB file, documents up to 1 MB, fewer rounds)")
	durableBin := fs.String("durable", "", "the durable `binary` whose CLI bench scale times (default: this one)")
	asJSON := fs.Bool("json", false, "print the results as JSON: the machine, the rows (durations in nanoseconds) and the report as markdown")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("want one of: write, update, store, log, queue, scale")
	}
	scratch, err := os.MkdirTemp(*dir, "durable-bench-")
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer os.RemoveAll(scratch)
	out := c.stdout
	var report strings.Builder
	var rows []any
	if *asJSON {
		c.stdout = &report
		defer func() { c.stdout = out }()
	}
	fmt.Fprintf(c.stdout, "# durable bench %s\n\n%s/%s, %d CPUs, %s, in %s\n\n", rest[0],
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), *dir)

	switch rest[0] {
	case "write":
		lat, err := bench.Latency(scratch, []int{256, 4 << 10, 64 << 10, 1 << 20}, *rounds)
		if err != nil {
			return c.failBench(out, err, *asJSON)
		}
		fmt.Fprintf(c.stdout, "## One writer: median latency (target ratio <= 1.10)\n\n")
		bench.PrintLatency(c.stdout, lat)
		rows = append(rows, snakeJSON(lat))
		tput, err := bench.Concurrent(scratch, 16, 4<<10, *seconds)
		if err != nil {
			return c.failBench(out, err, *asJSON)
		}
		fmt.Fprintf(c.stdout, "\n## 16 writers, 4 KiB (targets: 16 files >= 1.0, 1 file >= 4.0)\n\n")
		bench.PrintThroughput(c.stdout, tput)
		rows = append(rows, snakeJSON(tput))
	case "update":
		row, err := bench.Update(scratch, 4<<10, *rounds, 16, *seconds)
		if err != nil {
			return c.failBench(out, err, *asJSON)
		}
		fmt.Fprintf(c.stdout, "## Update of a 4 KiB document\n\n")
		fmt.Fprintf(c.stdout, "| measure | durable.Update | raw lock+read+replace+unlock | ratio | target |\n|---|---:|---:|---:|---|\n")
		fmt.Fprintf(c.stdout, "| median latency, 1 goroutine | %v | %v | %.2f | <= 1.10 |\n",
			row.Durable.Round(time.Microsecond), row.Raw.Round(time.Microsecond), row.Ratio())
		fmt.Fprintf(c.stdout, "| throughput, %d goroutines vs 1 | %.0f/s | %.0f/s (1 goroutine) | %.2fx | >= 4x |\n",
			row.Goroutines, row.Many, row.One, row.Speedup())
		rows = append(rows, snakeJSON(row))
	case "store":
		st, err := bench.Store(scratch, 1000, *rounds, 16, *seconds)
		if err != nil {
			return c.failBench(out, err, *asJSON)
		}
		fmt.Fprintf(c.stdout, "## Store.Update of one key in a 1000-key document (targets: ratio <= 1.15, 16 goroutines >= 8x)\n\n")
		bench.PrintStore(c.stdout, st)
		rows = append(rows, snakeJSON(st))
	case "queue":
		if err := bench.Queue(c.stdout, scratch, *seconds); err != nil {
			return c.failBench(out, err, *asJSON)
		}
	case "log":
		if err := bench.Log(c.stdout, scratch, *rounds, *seconds, *logSize); err != nil {
			return c.failBench(out, err, *asJSON)
		}
	case "scale":
		exe, err := os.Executable()
		if err != nil {
			return c.failBench(out, err, *asJSON)
		}
		sizes, err := parseSizes(*docSizes)
		if err != nil {
			c.stdout = out
			return c.usageError("--doc-sizes: " + err.Error())
		}
		o := bench.ScaleOptions{
			Exe: exe, Durable: *durableBin, Backlog: *backlog, JSONLSize: *jsonlSize,
			DocSizes: sizes, Rounds: *rounds, Duration: *seconds, Log: bench.StoreLogMode,
			Progress: c.stderr,
		}
		if o.Durable == "" {
			o.Durable = exe
		}
		if *quick {
			// Small sizes, where no flag says otherwise.
			set := map[string]bool{}
			fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
			if !set["doc-sizes"] {
				o.DocSizes = []int{100_000, 1_000_000}
			}
			if !set["backlog"] {
				o.Backlog = 10_000
			}
			if !set["jsonl-size"] {
				o.JSONLSize = 16 << 20
			}
			if !set["rounds"] {
				o.Rounds = 20
			}
			if !set["duration"] {
				o.Duration = 500 * time.Millisecond
			}
		}
		if err := bench.Scale(c.stdout, scratch, o); err != nil {
			return c.failBench(out, err, *asJSON)
		}
	default:
		c.stdout = out
		return c.usageError(fmt.Sprintf("unknown benchmark %q; want write, update, store, log, queue or scale", rest[0]))
	}
	if *asJSON {
		c.stdout = out
		if rows == nil {
			rows = []any{}
		}
		c.printJSON(map[string]any{
			"bench": rest[0], "goos": runtime.GOOS, "goarch": runtime.GOARCH, "cpus": runtime.NumCPU(),
			"go": runtime.Version(), "dir": *dir, "rows": rows, "report_markdown": report.String(),
		})
	}
	return exitOK
}

// parseSizes reads "100000,1000000": positive byte counts.
func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number of bytes", f)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// failBench reports err on the real stdout (a --json run collects the
// report in a buffer until the end).
func (c *cli) failBench(out io.Writer, err error, asJSON bool) int {
	c.stdout = out
	return c.fail(err, asJSON)
}

// snakeJSON re-encodes v with snake_case field names: the rows of package
// bench are plain Go structs.
func snakeJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var x any
	if json.Unmarshal(b, &x) != nil {
		return nil
	}
	return snakeKeys(x)
}

func snakeKeys(x any) any {
	switch x := x.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[snakeCase(k)] = snakeKeys(v)
		}
		return m
	case []any:
		for i := range x {
			x[i] = snakeKeys(x[i])
		}
	}
	return x
}

// snakeCase turns "PerSec" into "per_sec" and "ID" into "id".
func snakeCase(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
