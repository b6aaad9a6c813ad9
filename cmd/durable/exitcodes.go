package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/queue"
)

// Exit codes. Scripts branch on them, so they never change meaning; every
// verb uses this table and "durable --help" prints it.
const (
	exitOK         = 0  // success (for write: the new content is durable)
	exitFailure    = 1  // any other failure
	exitUsage      = 2  // bad flags or arguments; nothing was changed
	exitExists     = 3  // the file exists (--no-clobber)
	exitPermission = 4  // permission denied
	exitNoSpace    = 5  // no space left on the device
	exitLocked     = 6  // a lock is held by someone else
	exitTimeout    = 7  // a wait timed out
	exitCorrupt    = 8  // data fails its checksum or does not parse
	exitTampered   = 9  // a signature or Merkle tree does not verify
	exitConflict   = 10 // the data changed since it was read

	exitFsckProblems = 11 // fsck: problems remain (found, not fixable, or the fix failed)
	exitFsckFixed    = 12 // fsck --fix: every problem found was repaired

	exitCheckFailed = 13 // write --check or --check-json refused the new content
	exitNotFound    = 14 // no such file, queue, log, key or message
	exitEmpty       = 15 // queue pop --no-wait: no message is available
)

// notFoundf reports that what the user named is not there (a store key, a
// queue directory): exit exitNotFound, as for fs.ErrNotExist.
func notFoundf(format string, args ...any) error {
	return withCode(exitNotFound, fmt.Errorf(format, args...))
}

// exitCodeTable pairs each code with its help line, in order.
func exitCodeTable() []exitCodeInfo {
	return []exitCodeInfo{
		{exitOK, "success"},
		{exitFailure, "failure"},
		{exitUsage, "usage error (bad flags or arguments)"},
		{exitExists, "file exists (--no-clobber)"},
		{exitPermission, "permission denied"},
		{exitNoSpace, "no space left on device"},
		{exitLocked, "locked by someone else"},
		{exitTimeout, "timed out"},
		{exitCorrupt, "corrupt data"},
		{exitTampered, "tampered data"},
		{exitConflict, "conflicting update"},
		{exitFsckProblems, "fsck found problems that remain"},
		{exitFsckFixed, "fsck --fix repaired every problem it found"},
		{exitCheckFailed, "write: --check or --check-json refused the new content"},
		{exitNotFound, "not found: no such file, queue, log, key or message"},
		{exitEmpty, "queue pop --no-wait: the queue has no message available"},
		{exitCannotRun, "lock/write -- COMMAND: the command could not be started"},
		{exitCommandNotFound, "lock/write -- COMMAND: the command was not found"},
		{exitBadURL, "bad postgres:// URL"},
		{exitUnreachable, "PostgreSQL server unreachable"},
		{exitAuth, "PostgreSQL authentication failed"},
		{exitNotDurable, "PostgreSQL server does not commit durably"},
	}
}

type exitCodeInfo struct {
	code int
	what string
}

func exitCodeHelp() string {
	s := "Exit codes:\n"
	for _, e := range exitCodeTable() {
		s += fmt.Sprintf("  %2d  %s\n", e.code, e.what)
	}
	return s
}

// exitCode maps an error to its exit code. The sentinels come first: an
// error may wrap both, say, ErrLocked and a timeout, and the sentinel is
// what the caller asked about.
func exitCode(err error) int {
	var ce *codeError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ce):
		return ce.code
	case errors.Is(err, durable.ErrLocked):
		return exitLocked
	case errors.Is(err, durable.ErrTampered):
		return exitTampered
	case errors.Is(err, durable.ErrCorrupt):
		return exitCorrupt
	case errors.Is(err, durable.ErrConflict):
		return exitConflict
	case errors.Is(err, fs.ErrExist):
		return exitExists
	case errors.Is(err, fs.ErrPermission):
		return exitPermission
	case errors.Is(err, syscall.ENOSPC) || isDiskFull(err):
		return exitNoSpace
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return exitTimeout
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, queue.ErrNotFound):
		return exitNotFound
	}
	return exitFailure
}

// A codeError is a failure with its own exit code, for what no sentinel
// describes (empty input, a check that refused the content).
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

// withCode gives err the exit code code.
func withCode(code int, err error) error { return &codeError{code, err} }

// fail reports err and returns its exit code: "durable: <message>" on
// stderr, or with asJSON {"error": ..., "code": ...} on stdout, where a
// script that asked for JSON reads.
func (c *cli) fail(err error, asJSON bool) int {
	code := exitCode(err)
	err = c.explainContext(err)
	if asJSON {
		c.printJSON(struct {
			Error string `json:"error"`
			Code  int    `json:"code"`
		}{errorText(err), code})
		return code
	}
	fmt.Fprintf(c.stderr, "durable: %s\n", errorText(err))
	return code
}

// explainContext rewrites what Go's context errors say ("context
// canceled", "context deadline exceeded") into what happened: the signal
// that interrupted durable, or a timeout.
func (c *cli) explainContext(err error) error {
	msg := err.Error()
	switch {
	case c.ctx != nil && c.ctx.Err() != nil && strings.Contains(msg, context.Canceled.Error()):
		msg = strings.ReplaceAll(msg, context.Canceled.Error(), "interrupted ("+context.Cause(c.ctx).Error()+")")
	case strings.Contains(msg, context.DeadlineExceeded.Error()):
		msg = strings.ReplaceAll(msg, context.DeadlineExceeded.Error(), "timed out")
	default:
		return err
	}
	return &rewordedError{msg, err}
}

// rewordedError is err with a clearer message; errors.Is still sees err.
type rewordedError struct {
	msg string
	err error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.err }

// errorText is err's message without the "durable: " that the library's
// sentinels carry: the CLI says it once, in front.
func errorText(err error) string {
	msg := strings.ReplaceAll(err.Error(), ": durable: ", ": ")
	return strings.TrimPrefix(msg, "durable: ")
}

// failCode is fail with the exit code chosen by the caller (a child's
// status).
func (c *cli) failCode(code int, err error, asJSON bool) int {
	c.fail(withCode(code, err), asJSON)
	return code
}

// context is the verb's context; tests that build a cli by hand may leave
// it nil.
func (c *cli) context() context.Context {
	if c.ctx == nil {
		return context.Background()
	}
	return c.ctx
}

// interrupted says why the verb's context ended: the signal received, or
// the deadline that passed.
func (c *cli) interrupted() error {
	return fmt.Errorf("interrupted (%w)", context.Cause(c.ctx))
}

// printJSON writes v as indented JSON to stdout.
func (c *cli) printJSON(v any) {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
