package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync"

	"github.com/durable-go/durable"
)

func writeVerb() verb {
	return verb{
		name:    "write",
		args:    "FILE [-- COMMAND [ARGS...]]",
		summary: "atomically replace FILE with stdin, or with a command's output",
		about: `Replaces FILE atomically and durably (durable.Create): the new content is
streamed into a temp file beside FILE, which is fsynced and renamed over
FILE, and the directory is fsynced. durable exits 0 only once the new
content is on disk; if it fails, is refused or is killed, FILE is exactly as
it was. Memory stays small whatever the size.

The content is stdin, or with "-- COMMAND [ARGS...]" the standard output of
COMMAND, which is published only if COMMAND exits 0: otherwise FILE is
unchanged and durable exits with COMMAND's status (126 if it cannot be
started, 127 if it is not found). Prefer this form to a pipe: in
"producer | durable write FILE" durable cannot see the producer fail, and a
producer that dies early hands it a partial or empty input.

Before publishing, the content must pass its checks: it may not be empty
(unless --allow-empty), --check-json parses it as one JSON value, and
--check runs a shell command with the new content on its stdin (its output
goes to stderr) and publishes only if it exits 0. A refusal leaves FILE
unchanged.

A symbolic link is followed and kept. Missing directories are created (0700
for 0600 files). A new file gets --mode (less the umask); an existing one
keeps its mode unless --mode is given. --backup keeps the previous version as
FILE.bak.1. --no-sync skips the fsyncs: the replace is still atomic, but may
be lost in a power cut (for caches).

` + backupsHelp + `

Exit codes: 0 written; 2 usage error or empty input (FILE unchanged); 3 FILE
exists (--no-clobber); 4 permission denied; 5 disk full; 13 a check refused
the content; COMMAND's own status when it fails, 126/127 when it cannot
run. With --json the result is {"file", "bytes", "durability"} and an error
is {"error", "code"}.`,
		example: `durable write state.json --check-json -- jq '.count += 1' state.json
echo '{"token":"abc"}' | durable write --mode 0600 ~/.config/app/token.json
durable write --backup --check 'nginx -t -c /dev/stdin' nginx.conf -- ./render-config`,
		run: runWrite,
	}
}

func runWrite(c *cli, args []string) int {
	args, command := splitCommand(args)
	fs := c.flags()
	mode := fs.String("mode", "0600", "`permissions` of a new file, in octal; given explicitly, also applied to an existing file (whose owner and group are kept)")
	backup := fs.Bool("backup", false, "keep the previous version as FILE.bak.1, shifting older FILE.bak.N up")
	noSync := fs.Bool("no-sync", false, "skip fsync: atomic, but not durable across a power cut")
	noClobber := fs.Bool("no-clobber", false, "fail with exit code 3 if FILE exists")
	noFollow := fs.Bool("no-follow", false, "refuse to write through a symbolic link")
	allowEmpty := fs.Bool("allow-empty", false, "publish empty content (refused by default: it is what a failed producer leaves)")
	check := fs.String("check", "", "shell `command` that gets the new content on stdin; FILE is replaced only if it exits 0")
	checkJSON := fs.Bool("check-json", false, "replace FILE only if the new content is one valid JSON value")
	asJSON := fs.Bool("json", false, "print the result, or the error, as JSON on stdout")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) == 0 && len(command) > 0 {
		// "durable write [flags] -- FILE [-- COMMAND...]": the first "--"
		// only ended the flags, so that FILE may start with a dash.
		rest, command = command[:1], command[1:]
		switch {
		case len(command) == 0:
			command = nil
		case command[0] == "--":
			command = command[1:]
		default:
			return c.usageError(fmt.Sprintf("want -- before the COMMAND, got %q", command[0]))
		}
	}
	if command != nil && len(command) == 0 {
		return c.usageError("want a COMMAND after --")
	}
	if len(rest) != 1 {
		return c.usageError(fmt.Sprintf("want one FILE, got %d arguments", len(rest)))
	}
	file := rest[0]
	perm, err := parseMode(*mode)
	if err != nil {
		return c.usageError(err.Error())
	}

	var opts []durable.Option
	durability := durable.Full
	if *noSync {
		durability = durable.Cache
		opts = append(opts, durable.WithDurability(durable.Cache))
	}
	if *backup {
		opts = append(opts, durable.Backups(existingBackups(file)))
	}
	if *noClobber {
		opts = append(opts, durable.NoClobber())
	}
	if *noFollow {
		opts = append(opts, durable.NoFollow())
	}
	if flagSet(fs, "mode") {
		opts = append(opts, durable.ForcePerm())
	}

	if *noClobber {
		// Refused before anything runs; the replace checks again.
		if _, err := os.Lstat(file); err == nil {
			return c.fail(unchanged(&os.PathError{Op: "write", Path: file, Err: os.ErrExist}, file), *asJSON)
		}
	}
	// The temp file (and any missing directory) is made only once there is
	// content: an empty input changes nothing on disk.
	var p *durable.PendingFile
	create := func() (io.Writer, error) {
		var err error
		p, err = durable.Create(file, perm, opts...)
		return p, err
	}
	defer func() {
		if p != nil {
			p.Cleanup() // a no-op after Commit: nothing half-written is ever published
		}
	}()

	w := &countingWriter{open: create}
	if command != nil {
		cmd := execCommand(c.ctx, command)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, w, c.stderr
		if code, err := childStatus(c.ctx, cmd, command[0]); err != nil {
			if w.err != nil { // the command's output could not be saved
				err = w.err
				code = exitCode(err)
			}
			return c.failCode(code, unchanged(err, file), *asJSON)
		}
		if w.err != nil {
			return c.fail(unchanged(w.err, file), *asJSON)
		}
	} else {
		if err := copyStdin(c, w); err != nil {
			return c.fail(unchanged(err, file), *asJSON)
		}
	}
	if w.n == 0 && !*allowEmpty {
		from := "stdin"
		if command != nil {
			from = "the output of " + command[0]
		}
		return c.fail(withCode(exitUsage, fmt.Errorf("%s is empty, as a failed producer's would be; %s is unchanged (--allow-empty writes an empty file)", from, file)), *asJSON)
	}
	if p == nil {
		if _, err := create(); err != nil {
			return c.fail(unchanged(err, file), *asJSON)
		}
	}
	if *checkJSON {
		r, err := p.Contents()
		if err == nil {
			err = checkOneJSON(r)
		}
		if err != nil {
			return c.fail(withCode(exitCheckFailed, unchanged(fmt.Errorf("--check-json: %w", err), file)), *asJSON)
		}
	}
	if *check != "" {
		r, err := p.Contents()
		if err != nil {
			return c.fail(unchanged(err, file), *asJSON)
		}
		cmd := shellCommand(c.ctx, *check)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = r, c.stderr, c.stderr
		if code, err := childStatus(c.ctx, cmd, "it"); err != nil {
			if code != exitCommandNotFound && code != exitCannotRun && c.ctx.Err() == nil {
				code = exitCheckFailed
			}
			return c.failCode(code, unchanged(fmt.Errorf("--check %q refused the new content (%w)", *check, err), file), *asJSON)
		}
	}
	if err := c.ctx.Err(); err != nil {
		return c.fail(unchanged(c.interrupted(), file), *asJSON)
	}
	if err := p.Commit(); err != nil {
		return c.fail(err, *asJSON)
	}
	if *asJSON {
		c.printJSON(struct {
			File       string `json:"file"`
			Bytes      int64  `json:"bytes"`
			Durability string `json:"durability"`
		}{file, w.n, durability.String()})
	}
	return exitOK
}

// unchanged says, after err, that file was left as it was.
func unchanged(err error, file string) error {
	return fmt.Errorf("%w; %s is unchanged", err, file)
}

// countingWriter counts what reaches w and keeps w's first error, which
// exec's copy of a command's output would otherwise hide behind the
// command's own failure.
type countingWriter struct {
	mu     sync.Mutex
	open   func() (io.Writer, error) // makes w on the first Write
	w      io.Writer
	n      int64
	err    error
	closed bool // the verb gave up: nothing more may reach w
}

func (c *countingWriter) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, errors.New("stopped")
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.w == nil {
		w, err := c.open()
		if err != nil {
			c.err = err
			return 0, err
		}
		c.w = w
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// close stops every later Write; once it returns, no Write is running.
func (c *countingWriter) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

// copyStdin copies stdin to w until EOF or until the verb is interrupted:
// a read from a pipe cannot be cancelled, so the copy runs on its own and
// is abandoned, with w closed, when the context ends first.
func copyStdin(c *cli, w *countingWriter) error {
	done := make(chan error, 1)
	go func() {
		_, err := io.CopyBuffer(w, c.stdin, make([]byte, 256<<10))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil && w.err == nil {
			err = fmt.Errorf("reading stdin: %w", err)
		}
		return err
	case <-c.ctx.Done():
		w.close()
		return c.interrupted()
	}
}

// checkOneJSON reads r as exactly one JSON value under the rule of
// checkJSONValue, token by token so that memory stays small whatever the
// size.
func checkOneJSON(r io.Reader) error {
	dec := json.NewDecoder(&utf8Reader{r: r})
	dec.UseNumber()
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) && depth > 0 {
				return fmt.Errorf("not valid JSON: it ends inside an object or array (byte %d)", dec.InputOffset())
			}
			if errors.Is(err, io.EOF) {
				return errors.New("not JSON: no value")
			}
			return fmt.Errorf("not valid JSON at byte %d: %w", dec.InputOffset(), err)
		}
		if n, ok := tok.(json.Number); ok {
			if err := checkNumber(string(n)); err != nil {
				return fmt.Errorf("not accepted: it %w", err)
			}
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			break
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("not one JSON value: more follows at byte %d", dec.InputOffset())
	}
	return nil
}

// parseMode parses an octal permission like 0600 or 644.
func parseMode(s string) (fs.FileMode, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("--mode %q: want octal permissions such as 0600", s)
	}
	return fs.FileMode(m), nil
}
