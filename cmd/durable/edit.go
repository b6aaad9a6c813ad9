package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/store"
)

func editVerb() verb {
	return verb{
		name:    "edit",
		args:    "FILE",
		summary: "edit a JSON document in $EDITOR under its lock; only valid JSON is saved",
		about: `Opens a copy of FILE in $VISUAL or $EDITOR (vi by default) while holding the
document's lock (FILE.lock), so that no other durable writer changes it
meanwhile, like visudo. When the editor exits, the copy must be valid JSON:
then it replaces FILE with a durable atomic replace (the previous version is
kept as FILE.bak.1). If it is not, and durable runs on a terminal, it says
why and asks whether to edit again; otherwise FILE is left unchanged and the
exit code is 2. An unchanged copy changes nothing.

` + backupsHelp + `

Other writers wait for the lock while the editor is open, and give up after
their own timeout (30 seconds for programs using package store).

Exit codes: 0 saved or unchanged; 2 usage error or the copy is not accepted
JSON (FILE unchanged); 7 timed out waiting for the lock; 8 FILE is corrupt
with no good backup. With --json (the editor then writes to stderr):
{"file", "rev", "changed"}.`,
		example: `durable edit ~/.config/app/config.json
EDITOR=nano durable edit state.json`,
		run: runEdit,
	}
}

func runEdit(c *cli, args []string) int {
	fs := c.flags()
	mode := fs.String("mode", "0600", "`permissions` of a new file, in octal (an existing file keeps its mode)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the document's lock")
	asJSON := fs.Bool("json", false, "print the result, or the error, as JSON on stdout (the editor then gets the terminal on stderr)")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError(fmt.Sprintf("want one FILE, got %d arguments", len(rest)))
	}
	perm, err := parseMode(*mode)
	if err != nil {
		return c.usageError(err.Error())
	}
	file := rest[0]
	st, warns, err := openDoc(file, perm)
	if err != nil {
		return c.fail(err, *asJSON)
	}
	warnings := c.warn(warns, *asJSON)
	ctx, cancel := context.WithTimeout(c.ctx, *timeout)
	defer cancel()
	// A document in log mode is compacted before the edit (the editor
	// shows the file as it is, pending patches folded in) and after it
	// (the file then holds what was edited): see storecompact.go.
	logMode := hasLog(file)
	if logMode {
		if err := st.Compact(ctx); err != nil {
			return c.fail(err, *asJSON)
		}
	}
	dir, err := os.MkdirTemp("", "durable-edit-")
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer os.RemoveAll(dir) // the copy may hold secrets
	copyPath := filepath.Join(dir, filepath.Base(file))
	unchanged := false
	rev, err := st.Update(ctx, func(doc *json.RawMessage) error {
		var orig bytes.Buffer
		if *doc == nil {
			orig.WriteString("{}")
		} else {
			json.Indent(&orig, *doc, "", "  ")
		}
		orig.WriteByte('\n')
		if err := os.WriteFile(copyPath, orig.Bytes(), 0o600); err != nil {
			return err
		}
		for {
			if err := c.runEditor(copyPath, *asJSON); err != nil {
				return err
			}
			edited, err := os.ReadFile(copyPath)
			if err != nil {
				return err
			}
			if bytes.Equal(edited, orig.Bytes()) {
				unchanged = true
				return store.ErrNoChange
			}
			perr := checkJSON(edited)
			if perr == nil {
				var compact bytes.Buffer
				json.Compact(&compact, edited)
				*doc = compact.Bytes()
				return nil
			}
			if !c.interactive() {
				return badInputf("the edited copy is not valid JSON: %v", perr)
			}
			fmt.Fprintf(c.stderr, "durable: the edited copy is not valid JSON: %v\n", perr)
			fmt.Fprintf(c.stderr, "Edit again, or quit without saving %s? [E/q] ", file)
			line, _ := bufio.NewReader(c.stdin).ReadString('\n')
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "q") {
				return badInputf("not saved: the edited copy is not valid JSON (%v)", perr)
			}
		}
	})
	if logMode && err == nil {
		if err = st.Close(); err == nil {
			var data []byte
			if data, err = os.ReadFile(file); err == nil {
				rev = durable.RevOf(data)
			}
		}
	}
	var bad *badInputError
	switch {
	case errors.As(err, &bad):
		return c.badInput(fmt.Errorf("%s: %w; the file is unchanged", file, err), *asJSON)
	case err != nil && c.ctx.Err() != nil:
		return c.fail(fmt.Errorf("%w; %s is unchanged", c.interrupted(), file), *asJSON)
	case errors.Is(err, context.DeadlineExceeded):
		return c.fail(withCode(exitTimeout, fmt.Errorf("timed out after %v waiting for the lock on %s; it is unchanged", *timeout, file)), *asJSON)
	case err != nil:
		return c.fail(err, *asJSON)
	case *asJSON:
		c.printJSON(struct {
			File     string   `json:"file"`
			Rev      string   `json:"rev"`
			Changed  bool     `json:"changed"`
			Warnings []string `json:"warnings,omitempty"`
		}{file, rev.String(), !unchanged, warnings})
	case unchanged:
		fmt.Fprintf(c.stderr, "durable: %s unchanged\n", file)
	}
	return exitOK
}

// checkJSON explains why data is not a JSON document, with its line and
// column.
func checkJSON(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("invalid UTF-8")
	}
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(data[:se.Offset], []byte("\n"))
		col := int(se.Offset) - bytes.LastIndexByte(data[:se.Offset], '\n') - 1
		return fmt.Errorf("line %d, column %d: %v", line, col, se)
	}
	if err != nil {
		return err
	}
	if err := checkNumbers(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("it %w", err)
	}
	if d := jsonDepth(data); d > maxDocDepth {
		return fmt.Errorf("it nests %d levels deep; a document may nest at most %d", d, maxDocDepth)
	}
	return nil
}

func (c *cli) runEditor(path string, stdoutTaken bool) error {
	editor := os.Getenv("VISUAL")
	if editor == "" {
		editor = os.Getenv("EDITOR")
	}
	var cmd *exec.Cmd
	switch {
	case runtime.GOOS == "windows":
		if editor == "" {
			editor = "notepad"
		}
		f := strings.Fields(editor)
		cmd = exec.Command(f[0], append(f[1:], path)...)
	default:
		if editor == "" {
			editor = "vi"
		}
		// Through the shell, so that EDITOR="code --wait" works.
		cmd = exec.Command("sh", "-c", editor+` "$1"`, "sh", path)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, c.stdout, c.stderr
	if stdoutTaken {
		cmd.Stdout = c.stderr
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("editor %q: %w", editor, err)
	}
	return nil
}

// interactive reports whether a person can answer a question on stdin.
func (c *cli) interactive() bool {
	f, ok := c.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
