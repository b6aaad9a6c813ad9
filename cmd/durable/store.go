package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/durable-go/durable/cmd/durable/internal/fsck"
	"github.com/durable-go/durable/internal/storeverb"
	"github.com/durable-go/durable/store"
)

// exitBadInput is the exit code for input that is refused before anything
// changes: a value that is not JSON, a key path through something that is
// not an object, an edit that does not parse. It is the usage code, as for
// "durable jsonl".
const exitBadInput = exitUsage

func storeVerb() verb {
	return verb{
		name:    "store",
		args:    "get|set|delete|incr|compact FILE [KEY.PATH] [VALUE]",
		summary: "read or change one key of a JSON document, under its lock",
		about: `Reads or changes a JSON document the way package store does: every change
takes the document's lock (FILE.lock), reads the latest version, applies the
change and publishes the result with a durable atomic replace, keeping the
previous version as FILE.bak.1. Changes from several processes at once are
never lost, and readers never see a half-written file.

` + backupsHelp + `

  get FILE [KEY.PATH]          print the document, or the value at KEY.PATH
  set FILE KEY.PATH VALUE      set KEY.PATH to VALUE, which must be JSON
                               (quote strings: '"text"'); missing objects on
                               the way are created
  delete FILE KEY.PATH         remove KEY.PATH (no error if it is absent)
  incr FILE KEY.PATH [N]       add N (default 1) to the integer at KEY.PATH
                               (0 if absent) and print the new value; put
                               "--" before a negative N
  compact [--discard] FILE     fold the patch log of a document kept in log
                               mode (FILE.patchlog, store.Options.Log) into
                               FILE; with --discard, set the pending patches
                               aside instead, kept as evidence in
                               FILE.patchlog.discarded.<time> (the way out
                               when FILE was edited without its lock while
                               patches were pending: exit code 10)

A document with a patch log is read and changed through it (get, set,
delete, incr and edit see every pending patch); edit compacts first and
after, so that the file holds what was edited.

KEY.PATH names nested object members, separated by dots; write \. for a dot
inside a key and \\ for a backslash. A VALUE that is not JSON, or a path
through something that is not an object, is refused with exit code 2 and the
file is unchanged. A file that does not parse is recovered from its newest
good backup (the damaged file is kept as FILE.corrupt.<time>, and a warning
is printed); with no good backup it is left alone (exit code 8).

Accepted JSON is valid UTF-8 with numbers within the range of a float64 (the
rule of jsonl and write --check-json too); a KEY.PATH may have at most 64
levels and a document may nest at most 256. get warns when an object has a
key twice (the last one is used; durable fsck reports it too). A new file
gets --mode 0600 less the umask (as with the library's store.Options.Perm
and every verb: state files often hold secrets); an existing file keeps its
mode.

Exit codes: 0 done; 2 usage error or a refused VALUE or path (the file is
unchanged); 4 permission denied; 5 disk full; 7 timed out waiting for the
lock; 8 corrupt with no good backup; 10 compact: FILE was changed without
its lock while patches were pending (see --discard); 14 get: no such file or
key. With --json: {"file", "rev", "value", "warnings"}; compact
{"file", "rev", "compacted", "discarded"}; errors {"error", "code"}.`,
		example: `durable store set ~/.config/app/config.json server.port 8080
durable store get ~/.config/app/config.json server
durable store incr state.json stats.runs
durable store compact state.json`,
		run: runStoreVerb, // runStore, and compact (storecompact.go)
	}
}

type storeFlags struct {
	json    bool
	raw     bool
	mode    string
	timeout time.Duration

	warnings []string // what opening the document found, for --json
}

func runStore(c *cli, args []string) int {
	fs := c.flags()
	var f storeFlags
	fs.BoolVar(&f.json, "json", false, "print the result, or the error, as JSON on stdout")
	fs.BoolVar(&f.raw, "raw", false, "get: print a string value without quotes")
	fs.StringVar(&f.mode, "mode", "0600", "`permissions` of a new file, in octal (an existing file keeps its mode)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for the document's lock")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	sub, rest, err := storeverb.Parse(rest)
	if err != nil {
		return c.usageError(err.Error())
	}
	perm, err := parseMode(f.mode)
	if err != nil {
		return c.usageError(err.Error())
	}
	file := rest[0]
	var path []string
	if len(rest) > 1 {
		if path, err = parseKeyPath(rest[1]); err != nil {
			return c.usageError(err.Error())
		}
	}
	st, warns, err := openDoc(file, perm)
	if err != nil {
		return c.fail(err, f.json)
	}
	f.warnings = c.warn(warns, f.json)
	ctx, cancel := context.WithTimeout(c.ctx, f.timeout)
	defer cancel()

	switch sub {
	case "get":
		return c.storeGet(st, file, path, f)
	case "set":
		value := []byte(rest[2])
		if err := checkJSONValue(value); err != nil {
			return c.badInput(fmt.Errorf("VALUE %q %v (quote a string: '\"text\"'); %s is unchanged", shorten(rest[2]), err, file), f.json)
		}
		if d := len(path) + jsonDepth(value); d > maxDocDepth {
			return c.badInput(fmt.Errorf("KEY.PATH and VALUE nest %d levels deep; a document may nest at most %d; %s is unchanged", d, maxDocDepth, file), f.json)
		}
		var compact bytes.Buffer
		json.Compact(&compact, value)
		return c.storeChange(ctx, st, file, f, false, func(doc []byte) ([]byte, json.RawMessage, error) {
			out, err := setPath(doc, path, compact.Bytes())
			return out, compact.Bytes(), err
		})
	case "delete":
		return c.storeChange(ctx, st, file, f, false, func(doc []byte) ([]byte, json.RawMessage, error) {
			out, err := deletePath(doc, path)
			return out, nil, err
		})
	default: // incr
		by := int64(1)
		if len(rest) == 3 {
			if by, err = strconv.ParseInt(rest[2], 10, 64); err != nil {
				return c.usageError(fmt.Sprintf("N %q is not an integer", rest[2]))
			}
		}
		return c.storeChange(ctx, st, file, f, true, func(doc []byte) ([]byte, json.RawMessage, error) {
			cur, found, err := getPath(doc, path)
			if err != nil {
				return nil, nil, err
			}
			n := int64(0)
			if found {
				if n, err = strconv.ParseInt(string(cur), 10, 64); err != nil {
					return nil, nil, badInputf("%s is %s, not an integer", strings.Join(path, "."), describe(cur))
				}
			}
			if (by > 0 && n > math.MaxInt64-by) || (by < 0 && n < math.MinInt64-by) {
				return nil, nil, badInputf("%s + %d overflows a 64-bit integer", strings.Join(path, "."), by)
			}
			v := json.RawMessage(strconv.FormatInt(n+by, 10))
			out, err := setPath(doc, path, v)
			return out, v, err
		})
	}
}

// openDoc opens FILE as a store document of any JSON, keeping as many
// backups as the file already has (at least one). warns is what the store
// found that is not a failure (a recovery from a backup), for c.warn.
func openDoc(file string, perm os.FileMode) (*store.Store[json.RawMessage], []error, error) {
	// A document kept in log mode is changed through its log, never
	// beside it.
	st, err := store.Open(file, &store.Options[json.RawMessage]{Perm: perm, Backups: existingBackups(file), Log: hasLog(file)})
	if err != nil {
		return nil, nil, err
	}
	warns, _ := st.Warnings()
	return st, warns, nil
}

// warn prints each warning (a recovered file, a secret readable by others)
// on stderr and returns their texts; with --json they are not printed: the
// result carries them.
func (c *cli) warn(warns []error, asJSON bool) []string {
	var out []string
	for _, w := range warns {
		out = append(out, errorText(w))
		if !asJSON {
			fmt.Fprintf(c.stderr, "durable: warning: %v\n", errorText(w))
		}
	}
	return out
}

func (c *cli) storeGet(st *store.Store[json.RawMessage], file string, path []string, f storeFlags) int {
	doc, rev, err := st.Get()
	if err != nil {
		return c.fail(err, f.json)
	}
	if doc == nil {
		return c.fail(&fs.PathError{Op: "get", Path: file, Err: fs.ErrNotExist}, f.json)
	}
	warnings := f.warnings
	if where, key, dup := fsck.DuplicateKey(doc); dup {
		w := fmt.Sprintf("%s: the object at %s has the key %q twice; the last one is used (durable fsck reports it too)", file, where, key)
		warnings = append(warnings, w)
		if !f.json {
			fmt.Fprintf(c.stderr, "durable: warning: %s\n", w)
		}
	}
	v, found := []byte(doc), true
	if len(path) > 0 {
		if v, found, err = getPath(doc, path); err != nil {
			return c.badInput(fmt.Errorf("%s: %w", file, err), f.json)
		}
		if !found {
			return c.fail(notFoundf("%s has no key %s", file, strings.Join(path, ".")), f.json)
		}
	}
	if f.json {
		c.printJSON(struct {
			File     string          `json:"file"`
			Rev      string          `json:"rev"`
			Value    json.RawMessage `json:"value"`
			Warnings []string        `json:"warnings,omitempty"`
		}{file, rev.String(), v, warnings})
		return exitOK
	}
	var s string
	if f.raw && json.Unmarshal(v, &s) == nil {
		fmt.Fprintln(c.stdout, s)
		return exitOK
	}
	var out bytes.Buffer
	json.Indent(&out, v, "", "  ")
	out.WriteByte('\n')
	c.stdout.Write(out.Bytes())
	return exitOK
}

// storeChange applies change to the document under its lock and reports
// the result. change gets the current document (nil if the file does not
// exist) and returns the new one and the value to print.
func (c *cli) storeChange(ctx context.Context, st *store.Store[json.RawMessage], file string, f storeFlags, echo bool,
	change func(doc []byte) ([]byte, json.RawMessage, error)) int {
	var printed json.RawMessage
	rev, err := st.Update(ctx, func(doc *json.RawMessage) error {
		out, v, err := change(*doc)
		if err != nil {
			return err
		}
		if out == nil {
			return store.ErrNoChange
		}
		*doc, printed = out, v
		return nil
	})
	var bad *badInputError
	switch {
	case errors.As(err, &bad):
		return c.badInput(fmt.Errorf("%s: %w; the file is unchanged", file, err), f.json)
	case err != nil && c.ctx.Err() != nil:
		return c.fail(fmt.Errorf("%w; %s is unchanged", c.interrupted(), file), f.json)
	case errors.Is(err, context.DeadlineExceeded):
		return c.fail(withCode(exitTimeout, fmt.Errorf("timed out after %v waiting for the lock on %s; it is unchanged", f.timeout, file)), f.json)
	case err != nil:
		return c.fail(err, f.json)
	}
	if f.json {
		c.printJSON(struct {
			File     string          `json:"file"`
			Rev      string          `json:"rev"`
			Value    json.RawMessage `json:"value,omitempty"`
			Warnings []string        `json:"warnings,omitempty"`
		}{file, rev.String(), printed, f.warnings})
	} else if echo {
		fmt.Fprintln(c.stdout, string(printed))
	}
	return exitOK
}

// badInput reports refused input with exitBadInput.
func (c *cli) badInput(err error, asJSON bool) int {
	if asJSON {
		c.printJSON(struct {
			Error string `json:"error"`
			Code  int    `json:"code"`
		}{errorText(err), exitBadInput})
		return exitBadInput
	}
	fmt.Fprintf(c.stderr, "durable: %s\n", errorText(err))
	return exitBadInput
}

type badInputError struct{ msg string }

func (e *badInputError) Error() string { return e.msg }

func badInputf(format string, args ...any) error {
	return &badInputError{fmt.Sprintf(format, args...)}
}

func shorten(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
