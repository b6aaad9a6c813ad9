package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// Exit codes of a command durable runs for the user (write FILE -- CMD,
// lock FILE -- CMD), as a shell gives them: scripts written for flock(1)
// and sh keep working.
const (
	exitCannotRun       = 126 // the command was found but could not be started
	exitCommandNotFound = 127 // the command was not found
)

// splitCommand splits the arguments of a verb that runs a command (write
// FILE -- CMD, lock FILE -- CMD) at the first "--": everything after it is
// the command, flags and all. command is nil when there is no "--".
func splitCommand(args []string) (verbArgs, command []string) {
	for i, a := range args {
		if a == "--" {
			return args[:i], args[i+1:]
		}
	}
	return args, nil
}

// childStatus runs cmd to the end and returns the exit code a shell would
// give for it: its own status, 128+N after signal N, 127 if it was not
// found, 126 if it could not be started. err is non-nil when the command
// did not run or did not exit 0, and says which, calling the command name.
func childStatus(ctx context.Context, cmd *exec.Cmd, name string) (int, error) {
	err := cmd.Run()
	if err == nil {
		return exitOK, nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ctx.Err() != nil {
			return exitCode(ctx.Err()), fmt.Errorf("%s was stopped: %w", name, context.Cause(ctx))
		}
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && runtime.GOOS != "windows" && ws.Signaled() {
			return 128 + int(ws.Signal()), fmt.Errorf("%s was killed by signal %d (%v)", name, int(ws.Signal()), ws.Signal())
		}
		return exit.ExitCode(), fmt.Errorf("%s exited with status %d", name, exit.ExitCode())
	}
	if cmd.Process == nil {
		// It never started.
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return exitCommandNotFound, fmt.Errorf("command not found: %w", err)
		}
		return exitCannotRun, fmt.Errorf("cannot run %s: %w", name, err)
	}
	// It ran, and exited 0, but copying its output failed.
	return exitCode(err), err
}

// shellCommand is the command line s run by the system shell.
func shellCommand(ctx context.Context, s string) *exec.Cmd {
	if runtime.GOOS == "windows" {
		return stoppable(exec.CommandContext(ctx, "cmd", "/C", s))
	}
	return stoppable(exec.CommandContext(ctx, "/bin/sh", "-c", s))
}

// childGrace is how long a child has to exit after durable is interrupted,
// and how long its output pipes are waited for after it exits (a
// grandchild may hold them), before it is killed and they are closed.
const childGrace = 3 * time.Second

// stoppable makes cmd end when its context does: it is asked to stop as
// durable was (SIGTERM, where there are signals), then killed.
func stoppable(cmd *exec.Cmd) *exec.Cmd {
	cmd.Cancel = func() error {
		if runtime.GOOS == "windows" {
			return cmd.Process.Kill()
		}
		return cmd.Process.Signal(syscall.SIGTERM)
	}
	cmd.WaitDelay = childGrace
	return cmd
}

// execCommand is the command line args, run directly (no shell).
func execCommand(ctx context.Context, args []string) *exec.Cmd {
	return stoppable(exec.CommandContext(ctx, args[0], args[1:]...))
}
