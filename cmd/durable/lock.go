package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/durable-go/durable/lock"
)

func lockVerb() verb {
	return verb{
		name:    "lock",
		args:    "FILE -- COMMAND [ARGS...]",
		summary: "run a command while holding FILE's lock",
		about: `Takes the cross-process lock that durable.Update uses for FILE (the sidecar
FILE.lock, never FILE itself) and runs COMMAND while holding it, like
flock(1). It exits with COMMAND's exit status. The lock is released when
COMMAND ends, also if durable is killed: the operating system drops it with
the process. COMMAND does not inherit the lock.

It waits at most --timeout for the lock (exit 7 when that runs out);
--timeout 0 fails at once if the lock is held (exit 6);
--conflict-exit-code N exits N instead in both cases, as flock -E does.
--shared takes a shared lock, which other shared holders may hold at the
same time.

Exit codes: COMMAND's status (128+N if killed by signal N); 126 COMMAND
could not be started; 127 COMMAND not found; 2 usage error; 6 the lock is
held (--timeout 0); 7 timed out waiting. With --json, COMMAND's output goes
to stderr and stdout gets {"file", "shared", "exit_code", "error", "code"}.`,
		example: `durable lock state.json -- durable write --check-json state.json -- jq '.n += 1' state.json
durable lock --timeout 0 --conflict-exit-code 75 /run/app/cron -- ./nightly-job`,
		run: runLock,
	}
}

func runLock(c *cli, args []string) int {
	args, command := splitCommand(args)
	fs := c.flags()
	shared := fs.Bool("shared", false, "take a shared lock instead of an exclusive one")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the lock (0: do not wait)")
	conflict := fs.Int("conflict-exit-code", 0, "exit `code` when the lock is held (--timeout 0) or the wait times out, as flock -E (default 6 held, 7 timed out)")
	asJSON := fs.Bool("json", false, "print the result, or the error, as JSON on stdout once the command has ended")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if command == nil && len(rest) > 1 {
		rest, command = rest[:1], rest[1:]
	}
	if len(rest) != 1 || len(command) == 0 {
		return c.usageError("want FILE -- COMMAND [ARGS...]")
	}
	if flagSet(fs, "conflict-exit-code") && (*conflict < 1 || *conflict > 255) {
		return c.usageError(fmt.Sprintf("--conflict-exit-code %d: want 1 to 255", *conflict))
	}
	file := rest[0]

	held, err := takeLock(c.ctx, file, *shared, *timeout)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && c.ctx.Err() == nil {
			err = withCode(exitTimeout, fmt.Errorf("timed out after %v waiting for the lock on %s; %s was not run", *timeout, file, command[0]))
		} else if c.ctx.Err() != nil {
			err = fmt.Errorf("%w while waiting for the lock on %s; %s was not run", c.interrupted(), file, command[0])
		} else {
			err = fmt.Errorf("%w; %s was not run", err, command[0])
		}
		code := exitCode(err)
		if flagSet(fs, "conflict-exit-code") && (code == exitLocked || code == exitTimeout) {
			code = *conflict
		}
		return c.failCode(code, err, *asJSON)
	}
	defer held.Unlock()

	cmd := execCommand(c.ctx, command)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, c.stdout, c.stderr
	if *asJSON {
		// stdout carries the result; the command's output goes to stderr.
		cmd.Stdout = c.stderr
	}
	code, err = childStatus(c.ctx, cmd, command[0])
	if *asJSON {
		out := struct {
			File     string `json:"file"`
			Shared   bool   `json:"shared"`
			ExitCode int    `json:"exit_code"`
			Error    string `json:"error,omitempty"`
			Code     int    `json:"code"`
		}{File: file, Shared: *shared, ExitCode: code, Code: code}
		if err != nil {
			out.Error = errorText(err)
		}
		c.printJSON(out)
		return code
	}
	if err != nil && (code == exitCommandNotFound || code == exitCannotRun || c.ctx.Err() != nil) {
		// A command that ran and failed has said why itself.
		fmt.Fprintf(c.stderr, "durable: %s\n", errorText(err))
	}
	return code
}

func takeLock(ctx context.Context, file string, shared bool, timeout time.Duration) (*lock.Held, error) {
	if timeout <= 0 {
		if shared {
			return lock.TryRLock(file)
		}
		return lock.TryLock(file)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if shared {
		return lock.RLock(ctx, file)
	}
	return lock.Lock(ctx, file)
}
