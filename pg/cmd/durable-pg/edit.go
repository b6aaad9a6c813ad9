package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/durable-go/durable/store"
)

// runEdit edits a document in $VISUAL or $EDITOR. Unlike a file's edit,
// it holds no lock while the editor is open (a database transaction held
// for minutes would stall every other writer): it saves with Replace on
// the revision it read, so a change someone made meanwhile is never
// overwritten: the edit is refused (exit 10) and the edited copy kept.
func (c *cli) runEdit(args []string) int {
	var o dbOptions
	fs := c.flags("edit", &o)
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the server")
	rest, _, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("want one URL#NAME")
	}
	t, err := parseTarget(rest[0])
	if err != nil {
		return c.fail(err, false)
	}
	ctx, cancel := context.WithTimeout(c.ctx, *timeout)
	db, st, err := c.openDoc(ctx, t, o)
	cancel()
	if err != nil {
		return c.fail(err, false)
	}
	defer db.Close()
	ctx, cancel = context.WithTimeout(c.ctx, *timeout)
	cur, rev, err := st.GetContext(ctx)
	cancel()
	if err != nil {
		return c.fail(err, false)
	}
	dir, err := os.MkdirTemp("", "durable-edit-")
	if err != nil {
		return c.fail(err, false)
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(dir) // the copy may hold secrets
		}
	}()
	path := filepath.Join(dir, "document.json")
	var orig bytes.Buffer
	if json.Indent(&orig, cur, "", "  ") != nil {
		orig.Reset()
		orig.Write(cur)
	}
	orig.WriteByte('\n')
	if err := os.WriteFile(path, orig.Bytes(), 0o600); err != nil {
		return c.fail(err, false)
	}
	editor := os.Getenv("VISUAL")
	if editor == "" {
		editor = os.Getenv("EDITOR")
	}
	if editor == "" {
		editor = "vi"
	}
	cmd := exec.Command("sh", "-c", editor+` "$1"`, "sh", path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, c.stdout, c.stderr
	if err := cmd.Run(); err != nil {
		return c.fail(fmt.Errorf("the editor failed: %w; %s is unchanged", err, t.name), false)
	}
	edited, err := os.ReadFile(path)
	if err != nil {
		return c.fail(err, false)
	}
	if bytes.Equal(edited, orig.Bytes()) {
		return exitOK
	}
	if !utf8.Valid(edited) || !json.Valid(edited) {
		fmt.Fprintf(c.stderr, "durable: the edited copy is not valid JSON; %s is unchanged\n", t.name)
		return exitUsage
	}
	var compact bytes.Buffer
	json.Compact(&compact, edited)
	ctx, cancel = context.WithTimeout(c.ctx, *timeout)
	defer cancel()
	if _, err := st.Replace(ctx, doc(compact.Bytes()), rev); err != nil {
		if errors.Is(err, store.ErrConflict) {
			keep = true
			fmt.Fprintf(c.stderr, "durable: %s changed while it was being edited; your copy is kept in %s\n", t.name, path)
		}
		return c.fail(err, false)
	}
	return exitOK
}
