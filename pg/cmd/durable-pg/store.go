package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/durable-go/durable/internal/keypath"
	"github.com/durable-go/durable/internal/storeverb"
	"github.com/durable-go/durable/pg"
	"github.com/durable-go/durable/store"
)

// parseArgs parses flags wherever they are among the arguments, up to a
// "--", which ends them, and returns the arguments before and after it.
// When ok is false the verb is over: exitOK after --help, exitUsage after
// a bad flag (the flag package explained both on stderr).
func parseArgs(fs *flag.FlagSet, args []string) (rest, after []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, nil, exitOK, false
		} else if err != nil {
			return nil, nil, exitUsage, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, after, exitOK, true
		}
		if args[0] == "--" {
			return rest, args[1:], exitOK, true
		}
		rest = append(rest, args[0])
		args = args[1:]
		if len(args) > 0 && args[0] == "--" {
			return rest, args[1:], exitOK, true
		}
	}
}

func (c *cli) flags(name string, db *dbOptions) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&db.schema, "schema", pg.DefaultSchema, "the PostgreSQL `schema` of durable's tables")
	fs.BoolVar(&db.allowSync, "allow-synchronous-commit-off", false, "accept a server that acknowledges commits before they are flushed")
	return fs
}

// The document as the CLI sees it: any JSON object.
type doc = json.RawMessage

func (c *cli) runStore(args []string) int {
	var o dbOptions
	fs := c.flags("store", &o)
	asJSON := fs.Bool("json", false, "print the result, or the error, as JSON on stdout")
	raw := fs.Bool("raw", false, "get: print a string value without quotes")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the server and the document's lock")
	rest, _, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	sub, rest, err := storeverb.Parse(rest)
	if err != nil {
		return c.usageError(err.Error())
	}
	t, err := parseTarget(rest[0])
	if err != nil {
		return c.fail(err, *asJSON)
	}
	var path []string
	if len(rest) > 1 {
		if path, err = keypath.Parse(rest[1]); err != nil {
			return c.usageError(err.Error())
		}
	}
	var value []byte
	by := int64(1)
	switch sub {
	case "set":
		value = []byte(rest[2])
		if !utf8.Valid(value) || !json.Valid(value) {
			return c.usageError(fmt.Sprintf("VALUE %q is not valid JSON (quote a string: '\"text\"'); nothing was changed", rest[2]))
		}
		var b bytes.Buffer
		json.Compact(&b, value)
		value = b.Bytes()
	case "incr":
		if len(rest) == 3 {
			if by, err = strconv.ParseInt(rest[2], 10, 64); err != nil {
				return c.usageError(fmt.Sprintf("N %q is not an integer", rest[2]))
			}
		}
	}
	ctx, cancel := context.WithTimeout(c.ctx, *timeout)
	defer cancel()
	db, st, err := c.openDoc(ctx, t, o)
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer db.Close()
	if sub == "get" {
		d, _, err := st.GetContext(ctx)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		v, ok, err := keypath.Get(d, path)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		if !ok {
			return c.fail(fmt.Errorf("%s: %s is not set", t.name, strings.Join(path, ".")), *asJSON)
		}
		return c.printValue(c.stdout, v, *raw)
	}
	var result json.RawMessage
	_, err = st.Update(ctx, func(d *doc) error {
		var out []byte
		var err error
		switch sub {
		case "set":
			out, err = keypath.Set(*d, path, value)
			result = value
		case "delete":
			out, err = keypath.Delete(*d, path)
		default:
			cur, ok, gerr := keypath.Get(*d, path)
			if gerr != nil {
				return gerr
			}
			var n int64
			if ok {
				if n, err = strconv.ParseInt(strings.TrimSpace(string(cur)), 10, 64); err != nil {
					return fmt.Errorf("%w: %s is %s, not an integer", store.ErrInvalid, strings.Join(path, "."), keypath.Describe(cur))
				}
			}
			if (by > 0 && n > (1<<63-1)-by) || (by < 0 && n < (-1<<63)-by) {
				return fmt.Errorf("%w: %s + %d overflows", store.ErrInvalid, strings.Join(path, "."), by)
			}
			result = json.RawMessage(strconv.FormatInt(n+by, 10))
			out, err = keypath.Set(*d, path, result)
		}
		if err != nil {
			return err
		}
		if out == nil || bytes.Equal(out, *d) { // nil: nothing to delete
			return store.ErrNoChange
		}
		*d = out
		return nil
	})
	if err != nil {
		if se := (*keypath.ShapeError)(nil); errors.Is(err, store.ErrInvalid) || errors.As(err, &se) {
			fmt.Fprintf(c.stderr, "durable: %v\n", err)
			return exitUsage
		}
		return c.fail(err, *asJSON)
	}
	if sub == "incr" {
		return c.printValue(c.stdout, result, false)
	}
	if *asJSON {
		fmt.Fprintln(c.stdout, `{"ok": true}`)
	}
	return exitOK
}

// openDoc connects to the server t names and opens its document, an
// empty object until it is first written.
func (c *cli) openDoc(ctx context.Context, t target, o dbOptions) (*pg.DB, *store.Store[doc], error) {
	db, err := c.open(ctx, t, o)
	if err != nil {
		return nil, nil, err
	}
	st, err := pg.OpenStore[doc](db, t.name, &store.Options[doc]{Default: func() doc { return doc("{}") }})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, st, nil
}

func (c *cli) printValue(w io.Writer, v json.RawMessage, raw bool) int {
	if raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			fmt.Fprintln(w, s)
			return exitOK
		}
	}
	var b bytes.Buffer
	if json.Indent(&b, v, "", "  ") != nil {
		b.Reset()
		b.Write(v)
	}
	fmt.Fprintln(w, b.String())
	return exitOK
}
