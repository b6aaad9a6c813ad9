package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// exitLockLost is the exit code when the lock was lost while the command
// ran (its session ended): the command was stopped, as it no longer had
// the lock it was promised.
const exitLockLost = exitLocked

func (c *cli) runLock(args []string) int {
	var o dbOptions
	fs := c.flags("lock", &o)
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the lock")
	shared := fs.Bool("shared", false, "take a shared lock")
	rest, command, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 || len(command) == 0 {
		return c.usageError("want URL#NAME -- COMMAND [ARGS...]")
	}
	t, err := parseTarget(rest[0])
	if err != nil {
		return c.fail(err, false)
	}
	wait, cancel := context.WithTimeout(c.ctx, *timeout)
	defer cancel()
	db, err := c.open(wait, t, o)
	if err != nil {
		return c.fail(err, false)
	}
	defer db.Close()
	take := db.Lock
	if *shared {
		take = db.RLock
	}
	h, err := take(wait, t.name)
	if err != nil {
		return c.fail(err, false)
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, c.stdout, c.stderr
	if err := cmd.Start(); err != nil {
		h.Unlock()
		return c.fail(err, false)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	lost := false
	select {
	case werr = <-done:
	case <-h.Lost():
		// The session that held the lock ended: someone else may hold it
		// now. The command must not go on believing it has it.
		lost = true
		cmd.Process.Signal(os.Interrupt)
		select {
		case werr = <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			werr = <-done
		}
	}
	uerr := h.Unlock()
	if lost {
		fmt.Fprintf(c.stderr, "durable: the lock on %s was lost while the command ran (its database session ended); the command was stopped\n", t.name)
		return exitLockLost
	}
	if uerr != nil {
		fmt.Fprintf(c.stderr, "durable: %v\n", uerr)
	}
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		if code := ee.ExitCode(); code >= 0 {
			return code
		}
		return exitFailure
	}
	if werr != nil {
		return c.fail(werr, false)
	}
	return exitOK
}
