package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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

// storeCompactArgs runs "store compact [--discard] FILE", rest being the
// arguments after the verb's flags (flags may follow the subcommand too).
func (c *cli) storeCompactArgs(fs *flag.FlagSet, f *storeFlags, rest []string) int {
	if len(rest) == 0 || rest[0] != "compact" {
		return c.usageError("--discard is for store compact")
	}
	rest, code, ok := c.parse(fs, rest[1:])
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("store compact: want one FILE")
	}
	return c.storeCompact(rest[0], *f)
}

func (c *cli) storeCompact(file string, f storeFlags) int {
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
	case f.discard:
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
	if _, rev, err := readRev(file); err == nil {
		out.Rev = rev
	}
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
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "absent", nil
	}
	if err != nil {
		return nil, "", err
	}
	return data, durable.RevOf(data).String(), nil
}
