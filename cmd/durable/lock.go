package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
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
--timeout 0 fails at once if the lock is held (exit 6). --shared takes a
shared lock, which other shared holders may hold at the same time.`,
		example: `durable lock ~/.config/app/state.json -- sh -c 'jq ".n += 1" state.json | durable write state.json'`,
		run:     runLock,
	}
}

func runLock(c *cli, args []string) int {
	// Everything after "--" is the command, flags and all.
	var command []string
	for i, a := range args {
		if a == "--" {
			args, command = args[:i], args[i+1:]
			break
		}
	}
	fs := c.flags()
	shared := fs.Bool("shared", false, "take a shared lock instead of an exclusive one")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the lock (0: do not wait)")
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
	file := rest[0]

	held, err := takeLock(c.ctx, file, *shared, *timeout)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintf(c.stderr, "durable: timed out after %v waiting for the lock on %s\n", *timeout, file)
			return exitTimeout
		}
		return c.fail(err, false)
	}
	defer held.Unlock()

	cmd := exec.CommandContext(c.ctx, command[0], command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, c.stdout, c.stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode()
	}
	fmt.Fprintf(c.stderr, "durable: %v\n", err)
	return exitFailure
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
