package demo

import (
	"context"
	"errors"
	"io"

	"github.com/durable-go/durable/internal/crashtest"
)

// CrashWriterName is the hidden verb the demo runs its writer children as:
// the durable binary re-executes itself, so the demo needs nothing else.
const CrashWriterName = "_crash-writer"

// CrashWriterAbout is the help of the hidden verb.
const CrashWriterAbout = "Rewrites a file, or appends to a log, in a loop and prints \"ack N\" after each write; durable demo starts it with its configuration in " +
	crashtest.WriterEnv + " or " + crashtest.LogWriterEnv + "."

// IsChild reports whether this process was started as one of the demo's
// writer children (its configuration is in the environment).
func IsChild() bool {
	_, fileWriter, _ := crashtest.WriterFromEnv()
	_, logWriter, _ := crashtest.LogWriterFromEnv()
	_, demoChild, _ := demoChildFromEnv()
	return fileWriter || logWriter || demoChild
}

// ErrNotChild is RunCrashWriter's error when the environment holds no
// writer configuration: a usage error.
var ErrNotChild = errors.New(crashtest.WriterEnv + " is not set; this verb is run by durable demo")

// RunCrashWriter runs the writer child the environment describes until it
// is killed or ctx ends, acknowledging on stdout.
func RunCrashWriter(ctx context.Context, stdout io.Writer) error {
	if dc, ok, err := demoChildFromEnv(); ok {
		if err == nil {
			err = runDemoChild(ctx, stdout, dc)
		}
		if err != nil && ctx.Err() == nil {
			return err
		}
		return nil
	}
	if lcfg, ok, err := crashtest.LogWriterFromEnv(); ok {
		var sink crashtest.LogSink
		if err == nil {
			sink, err = openLogSink(lcfg)
		}
		if err == nil {
			err = crashtest.RunLogWriter(ctx, stdout, lcfg, sink)
		}
		return err
	}
	cfg, ok, err := crashtest.WriterFromEnv()
	if !ok {
		return ErrNotChild
	}
	if err == nil {
		err = crashtest.RunWriter(ctx, stdout, cfg)
	}
	return err
}
