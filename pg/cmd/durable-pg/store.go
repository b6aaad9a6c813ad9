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

	"github.com/durable-go/durable/pg"
	"github.com/durable-go/durable/store"
)

// parseInterspersed parses flags wherever they are among the arguments,
// up to a "--", which ends them.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, []string, error) {
	var rest, after []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, after, nil
		}
		if args[0] == "--" {
			return rest, args[1:], nil
		}
		rest = append(rest, args[0])
		args = args[1:]
		if len(args) > 0 && args[0] == "--" {
			return rest, args[1:], nil
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
	rest, _, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(rest) == 0 {
		return c.usageError("want a subcommand: get, set, delete or incr")
	}
	sub, rest := rest[0], rest[1:]
	want := map[string][2]int{"get": {1, 2}, "set": {3, 3}, "delete": {2, 2}, "incr": {2, 3}}
	n, known := want[sub]
	if !known {
		return c.usageError(fmt.Sprintf("unknown subcommand %q: want get, set, delete or incr", sub))
	}
	if len(rest) < n[0] || len(rest) > n[1] {
		return c.usageError(fmt.Sprintf("store %s: wrong number of arguments", sub))
	}
	t, err := parseTarget(rest[0])
	if err != nil {
		return c.fail(err, *asJSON)
	}
	var path []string
	if len(rest) > 1 {
		if path, err = parseKeyPath(rest[1]); err != nil {
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
	db, err := c.open(ctx, t, o)
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer db.Close()
	st, err := pg.OpenStore[doc](db, t.name, &store.Options[doc]{Default: func() doc { return doc("{}") }})
	if err != nil {
		return c.fail(err, *asJSON)
	}
	if sub == "get" {
		d, _, err := st.GetContext(ctx)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		v, ok, err := getPath(d, path)
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
			out, err = setPath(*d, path, value)
			result = value
		case "delete":
			out, err = deletePath(*d, path)
		default:
			cur, ok, gerr := getPath(*d, path)
			if gerr != nil {
				return gerr
			}
			var n int64
			if ok {
				if n, err = strconv.ParseInt(strings.TrimSpace(string(cur)), 10, 64); err != nil {
					return fmt.Errorf("%w: %s is %s, not an integer", store.ErrInvalid, strings.Join(path, "."), cur)
				}
			}
			if (by > 0 && n > (1<<63-1)-by) || (by < 0 && n < (-1<<63)-by) {
				return fmt.Errorf("%w: %s + %d overflows", store.ErrInvalid, strings.Join(path, "."), by)
			}
			result = json.RawMessage(strconv.FormatInt(n+by, 10))
			out, err = setPath(*d, path, result)
		}
		if err != nil {
			return err
		}
		if bytes.Equal(out, *d) {
			return store.ErrNoChange
		}
		*d = out
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrInvalid) || errors.Is(err, errPath) {
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

var errPath = errors.New("bad key path")

// parseKeyPath splits KEY.PATH at dots; \. is a dot inside a key and \\ a
// backslash, as in durable store.
func parseKeyPath(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '.' && s[i+1] != '\\') {
				return nil, fmt.Errorf("KEY.PATH %q: a backslash must be followed by . or \\", s)
			}
			i++
			cur.WriteByte(s[i])
		case '.':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	out = append(out, cur.String())
	for _, k := range out {
		if k == "" {
			return nil, fmt.Errorf("KEY.PATH %q has an empty key", s)
		}
	}
	return out, nil
}

func object(v json.RawMessage, where []string) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	t := bytes.TrimSpace(v)
	if len(t) == 0 || string(t) == "null" {
		return m, nil
	}
	if t[0] != '{' || json.Unmarshal(t, &m) != nil {
		name := strings.Join(where, ".")
		if name == "" {
			name = "the document"
		}
		return nil, fmt.Errorf("%w: %s is not an object", errPath, name)
	}
	return m, nil
}

func getPath(d json.RawMessage, path []string) (json.RawMessage, bool, error) {
	cur := d
	for i, k := range path {
		m, err := object(cur, path[:i])
		if err != nil {
			return nil, false, err
		}
		v, ok := m[k]
		if !ok {
			return nil, false, nil
		}
		cur = v
	}
	return cur, true, nil
}

func setPath(d json.RawMessage, path []string, v json.RawMessage) (json.RawMessage, error) {
	if len(path) == 0 {
		return v, nil
	}
	m, err := object(d, nil)
	if err != nil {
		return nil, err
	}
	child, err := setPath(m[path[0]], path[1:], v)
	if err != nil {
		return nil, err
	}
	m[path[0]] = child
	return json.Marshal(m)
}

func deletePath(d json.RawMessage, path []string) (json.RawMessage, error) {
	m, err := object(d, nil)
	if err != nil {
		return nil, err
	}
	if _, ok := m[path[0]]; !ok {
		return d, nil
	}
	if len(path) == 1 {
		delete(m, path[0])
	} else {
		child, err := deletePath(m[path[0]], path[1:])
		if err != nil {
			return nil, err
		}
		m[path[0]] = child
	}
	return json.Marshal(m)
}
