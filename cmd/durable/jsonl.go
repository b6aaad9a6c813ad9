package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/jsonl"
)

// jsonlVerb is "durable jsonl", with two subcommands: append and repair.
func jsonlVerb() verb {
	return verb{
		name:    "jsonl",
		args:    "append|repair FILE ...",
		summary: "append to a JSON Lines file durably; repair a torn one",
		about: `Subcommands:
  append FILE [JSON...]   append each JSON value (the arguments, or one per
                          line of stdin) as one line; exit 0 once on disk
  repair FILE             cut a torn last line (saved to FILE.torn.<nanos>
                          first) and say what was cut

The file stays plain JSON Lines for jq, tail -f and other readers. Writers
take the lock on FILE.lock, so several processes may append at once. A corrupt
line in the middle is reported (exit 8) and never cut; --allow-corrupt goes
on anyway. Run 'durable jsonl append --help' or 'durable jsonl repair --help'
for their flags.`,
		example: `durable jsonl append events.jsonl '{"event":"start","pid":42}'
jq -c '.items[]' dump.json | durable jsonl append items.jsonl
durable jsonl repair --json session.jsonl`,
		run: runJSONL,
	}
}

func jsonlAppendVerb() verb {
	return verb{
		name: "jsonl append",
		args: "FILE [JSON...]",
		about: `Appends each JSON value to FILE as one line (a value spread over several lines
is compacted onto one). The values are the arguments after FILE, all checked
first and appended with one write and one fdatasync, or, with none, the lines
of stdin (blank lines skipped), appended as they arrive: the lines waiting
when a write starts go in it together, and each group is on disk before the
next is read, so "tail -f x | durable jsonl append y" writes every line as
tail prints it, in bounded memory. A line that is not accepted stops the
append with exit code 2: the lines before it stay appended (the message says
how many), nothing from it on is written. A value starting with "-" (a
negative number) must follow "--".

Accepted JSON is the same everywhere in durable (jsonl, store, write
--check-json): valid UTF-8, and numbers within the range of a float64
(1e400 is refused; big integers are kept as written).

FILE is created (--mode) if missing. If a crash left a torn last line, it is
first saved to FILE.torn.<nanos> and cut off, and a note goes to stderr. Only
the end of FILE that a crash can have damaged is read (about 768 KiB), so an
append to a large file costs what one to a small file does. A corrupt line
there stops the append with exit code 8, unless --allow-corrupt is given;
'durable fsck' and 'durable jsonl repair' read every line. --no-sync skips
the fdatasync (one is still made per 256 KiB the file grows): the lines
survive a crash of this process but may be lost in a power cut.

Exit codes: 0 appended; 2 usage error or a value refused; 4 permission
denied; 5 disk full; 6/7 the lock is held / timed out; 8 corrupt line in the
middle. With --json: {"file", "appended", "durability", "repairs"}.`,
		example: `durable jsonl append events.jsonl '{"event":"start","pid":42}' '{"event":"ready"}'
jq -c '.items[]' dump.json | durable jsonl append items.jsonl`,
	}
}

func jsonlRepairVerb() verb {
	return verb{
		name: "jsonl repair",
		args: "FILE",
		about: `Repairs the end of a JSON Lines file as every writer does before appending,
and prints what it did. Unlike an append, it reads every line. A torn tail (a last line cut short, zero bytes a
crash left) is written durably to FILE.torn.<nanos>, then cut off; a complete
last value without its newline gets one. It takes the lock on FILE.lock.

A corrupt line in the middle is listed and nothing is changed (exit code 8);
with --allow-corrupt the end is repaired anyway and the corrupt lines are
left in place.`,
		example: `durable jsonl repair session.jsonl
durable jsonl repair --json --allow-corrupt events.jsonl`,
	}
}

func runJSONL(c *cli, args []string) int {
	return c.dispatch(args, map[string]subverb{
		"append": fromVerb(jsonlAppendVerb(), runJSONLAppend),
		"repair": fromVerb(jsonlRepairVerb(), runJSONLRepair),
	})
}

// fromVerb is the subverb that v describes.
func fromVerb(v verb, run func(c *cli, args []string) int) subverb {
	return subverb{args: v.args, about: v.about, example: v.example, run: run}
}

func runJSONLAppend(c *cli, args []string) int {
	fs := c.flags()
	mode := fs.String("mode", "0600", "`permissions` of a new file, in octal")
	noSync := fs.Bool("no-sync", false, "skip fdatasync: survives a crash of this process, not a power cut")
	allowCorrupt := fs.Bool("allow-corrupt", false, "append even if a line in the middle is corrupt")
	asJSON := fs.Bool("json", false, "print the result, or the error, as JSON on stdout")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		return c.usageError("want FILE, then JSON values (or values on stdin)")
	}
	file, values := rest[0], rest[1:]
	perm, err := parseMode(*mode)
	if err != nil {
		return c.usageError(err.Error())
	}

	opts := &jsonl.Options{Perm: perm, AllowCorrupt: *allowCorrupt}
	durability := durable.Full
	if *noSync {
		durability = durable.Cache
	}
	opts.Durability = durability
	var repairs []jsonl.RepairReport
	opts.OnRepair = func(r jsonl.RepairReport) {
		repairs = append(repairs, r)
		if !*asJSON {
			fmt.Fprintf(c.stderr, "durable jsonl: repaired %s\n", r)
		}
	}
	appended := 0
	report := func() {
		if *asJSON {
			c.printJSON(struct {
				File       string               `json:"file"`
				Appended   int                  `json:"appended"`
				Durability string               `json:"durability"`
				Repairs    []jsonl.RepairReport `json:"repairs,omitempty"`
			}{file, appended, durability.String(), repairs})
		}
	}

	if len(values) > 0 {
		// Arguments are all checked before the file is touched.
		var lines [][]byte
		for i, v := range values {
			if err := checkJSONValue([]byte(v)); err != nil {
				return c.dataError(fmt.Sprintf("argument %d %v: %s", i+2, err, quoteStart(v)), *asJSON)
			}
			lines = append(lines, []byte(v))
		}
		f, err := jsonl.Open(file, opts)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		err = f.AppendRawBatch(c.ctx, lines)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return c.fail(err, *asJSON)
		}
		appended = len(lines)
		report()
		return exitOK
	}

	// Stdin is appended as it arrives, a group at a time, each group
	// durable before the next is read: a line never waits for the pipe to
	// close. A line that is not valid JSON stops the append; the lines
	// before it stay appended, as they were acknowledged.
	var f *jsonl.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var bad error
	err = readGroups(c.ctx, c.stdin, func(group []stdinLine) error {
		lines := make([][]byte, 0, len(group))
		for _, l := range group {
			if err := checkJSONValue(l.text); err != nil {
				bad = fmt.Errorf("stdin line %d %v: %s", l.n, err, quoteStart(string(l.text)))
				break
			}
			lines = append(lines, l.text)
		}
		if len(lines) > 0 {
			if f == nil {
				var err error
				if f, err = jsonl.Open(file, opts); err != nil {
					return err
				}
			}
			if err := f.AppendRawBatch(c.ctx, lines); err != nil {
				return err
			}
			appended += len(lines)
		}
		return bad
	})
	if f != nil {
		if cerr := f.Close(); err == nil && bad == nil {
			err = cerr
		}
		f = nil
	}
	switch {
	case bad != nil && appended == 0:
		return c.dataError(bad.Error(), *asJSON)
	case bad != nil:
		return c.dataError(fmt.Sprintf("%v; the %d line(s) before it were appended, nothing from it on", bad, appended), *asJSON)
	case err != nil && c.ctx.Err() != nil:
		return c.fail(fmt.Errorf("%w; %d line(s) were appended to %s before it, nothing after", c.interrupted(), appended, file), *asJSON)
	case err != nil:
		return c.fail(fmt.Errorf("%w; %d line(s) were appended to %s before it, nothing after", err, appended, file), *asJSON)
	}
	report()
	return exitOK
}

func runJSONLRepair(c *cli, args []string) int {
	fs := c.flags()
	allowCorrupt := fs.Bool("allow-corrupt", false, "repair the end even if a line in the middle is corrupt (it is left in place)")
	asJSON := fs.Bool("json", false, "print the report, or the error, as JSON on stdout")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError(fmt.Sprintf("want one FILE, got %d arguments", len(rest)))
	}
	rep, err := jsonl.Repair(rest[0], &jsonl.Options{AllowCorrupt: *allowCorrupt})
	if err != nil && !errors.Is(err, durable.ErrCorrupt) {
		return c.fail(err, *asJSON)
	}
	code = exitCode(err)
	if *asJSON {
		out := struct {
			jsonl.RepairReport
			Error string `json:"error,omitempty"`
			Code  int    `json:"code"`
		}{RepairReport: rep, Code: code}
		if err != nil {
			out.Error = errorText(err)
		}
		c.printJSON(out)
		return code
	}
	w := c.stdout
	if err != nil {
		w = c.stderr
		fmt.Fprintf(w, "durable: %s: %d corrupt line(s) in the middle; nothing was changed (--allow-corrupt repairs the end anyway):\n",
			rep.Path, rep.CorruptLines)
	} else {
		fmt.Fprintln(w, rep)
		if rep.CorruptLines > 0 {
			fmt.Fprintf(w, "corrupt lines left in place:\n")
		}
	}
	for _, ce := range rep.Corrupt {
		fmt.Fprintf(w, "  line %d (byte %d, %d bytes): %s\n", ce.Line, ce.Offset, ce.Length, ce.Reason)
	}
	if more := rep.CorruptLines - len(rep.Corrupt); more > 0 {
		fmt.Fprintf(w, "  ... and %d more\n", more)
	}
	return code
}

// dataError reports input that is not valid JSON: a usage error (exit 2),
// nothing written. With --json it goes to stdout as the other errors do.
func (c *cli) dataError(msg string, asJSON bool) int {
	if !strings.Contains(msg, "appended") {
		msg += "; nothing was written"
	}
	if asJSON {
		c.printJSON(struct {
			Error string `json:"error"`
			Code  int    `json:"code"`
		}{msg, exitUsage})
		return exitUsage
	}
	fmt.Fprintf(c.stderr, "durable %s: %s\n", c.verb.name, msg)
	return exitUsage
}

// quoteStart quotes the start of s for a message.
func quoteStart(s string) string {
	const n = 60
	if len(s) > n {
		return fmt.Sprintf("%q...", s[:n])
	}
	return fmt.Sprintf("%q", strings.TrimRight(s, "\r"))
}
