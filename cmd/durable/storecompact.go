package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/store"
)

// durable store compact: fold a document's patch log into it (store's log
// mode), or set the pending patches aside.

// hasLog reports whether file (past symbolic links) has a patch log beside
// it: the store then keeps it in log mode.
func hasLog(file string) bool {
	target, err := filepath.EvalSymlinks(file)
	if err != nil {
		target = file
	}
	fi, err := os.Stat(store.LogName(target))
	return err == nil && fi.IsDir()
}

// runStoreVerb runs "store compact" here and every other subcommand in
// runStore: compact has flags of its own (--discard).
func runStoreVerb(c *cli, args []string) int {
	if firstOperand(args) != "compact" {
		return runStore(c, args)
	}
	fs := c.flags()
	var f storeFlags
	fs.BoolVar(&f.json, "json", false, "print the result, or the error, as JSON on stdout")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for the document's lock")
	discard := fs.Bool("discard", false, "compact: set the pending patches aside (kept as evidence in FILE.patchlog.discarded.<time>) instead of folding them in")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 && rest[0] == "compact" {
		// Flags may follow the subcommand too: compact --discard FILE.
		if rest, code, ok = c.parse(fs, rest[1:]); !ok {
			return code
		}
	}
	if len(rest) != 1 {
		return c.usageError("store compact: want one FILE")
	}
	return c.storeCompact(rest[0], f, *discard)
}

// valueFlags are the store verb's flags that take a value.
var valueFlags = map[string]bool{"mode": true, "timeout": true}

// firstOperand is the first argument that is not a flag (or a flag's
// value), as the flag package would find it.
func firstOperand(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			return a
		}
		name := strings.TrimLeft(a, "-")
		if !strings.Contains(name, "=") && valueFlags[name] {
			i++ // its value
		}
	}
	return ""
}

func (c *cli) storeCompact(file string, f storeFlags, discard bool) int {
	ctx, cancel := context.WithTimeout(c.ctx, f.timeout)
	defer cancel()
	out := struct {
		File      string `json:"file"`
		Rev       string `json:"rev,omitempty"`
		Compacted bool   `json:"compacted"`
		Discarded string `json:"discarded,omitempty"`
	}{File: file}
	switch {
	case !hasLog(file):
		// Nothing to fold; opening in log mode would create the log.
		if _, err := os.Stat(file); err != nil {
			return c.fail(err, f.json)
		}
	case discard:
		kept, err := store.DiscardLogAt(ctx, file)
		if err != nil {
			return c.fail(err, f.json)
		}
		out.Discarded = kept
		fallthrough
	default:
		st, err := store.Open(file, &store.Options[json.RawMessage]{Backups: existingBackups(file), Log: true})
		if err != nil {
			return c.fail(err, f.json)
		}
		if err := st.Close(); err != nil {
			return c.fail(err, f.json)
		}
		out.Compacted = true
	}
	_, rev, err := readRev(file)
	if err != nil {
		return c.fail(err, f.json)
	}
	out.Rev = rev
	if f.json {
		c.printJSON(out)
		return exitOK
	}
	switch {
	case out.Discarded != "":
		fmt.Fprintf(c.stdout, "%s: the pending patches were set aside in %s\n", file, out.Discarded)
	case out.Compacted:
		fmt.Fprintf(c.stdout, "%s: compacted\n", file)
	default:
		fmt.Fprintf(c.stdout, "%s: no patch log, nothing to compact\n", file)
	}
	return exitOK
}

// readRev is the file's content and revision as durable.Rev prints it.
func readRev(file string) ([]byte, string, error) {
	// durable.ReadRev reads a FIFO or device planted at the name without
	// blocking, and refuses it.
	data, rev, err := durable.ReadRev(file)
	if err != nil {
		return nil, "", err
	}
	if data == nil {
		return nil, "absent", nil
	}
	return data, rev.String(), nil
}
