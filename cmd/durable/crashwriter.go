package main

import (
	"github.com/durable-go/durable/internal/crashtest"
)

// crashWriterName is the hidden verb the demo runs its writer children as:
// the durable binary re-executes itself, so the demo needs nothing else.
const crashWriterName = "_crash-writer"

func crashWriterVerb() verb {
	return verb{
		name:    crashWriterName,
		summary: "the writer child of durable demo (internal)",
		about: "Rewrites a file, or appends to a log, in a loop and prints \"ack N\" after each write; durable demo starts it with its configuration in " +
			crashtest.WriterEnv + " or " + crashtest.LogWriterEnv + ".",
		hidden: true,
		run:    runCrashWriter,
	}
}

func runCrashWriter(c *cli, args []string) int {
	fs := c.flags()
	_, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if dc, ok, err := demoChildFromEnv(); ok {
		if err == nil {
			err = runDemoChild(c.ctx, c.stdout, dc)
		}
		if err != nil && c.ctx.Err() == nil {
			return c.fail(err, false)
		}
		return exitOK
	}
	if lcfg, ok, err := crashtest.LogWriterFromEnv(); ok {
		var sink crashtest.LogSink
		if err == nil {
			sink, err = openLogSink(lcfg)
		}
		if err == nil {
			err = crashtest.RunLogWriter(c.ctx, c.stdout, lcfg, sink)
		}
		if err != nil {
			return c.fail(err, false)
		}
		return exitOK
	}
	cfg, ok, err := crashtest.WriterFromEnv()
	if !ok {
		return c.usageError(crashtest.WriterEnv + " is not set; this verb is run by durable demo")
	}
	if err == nil {
		err = crashtest.RunWriter(c.ctx, c.stdout, cfg)
	}
	if err != nil {
		return c.fail(err, false)
	}
	return exitOK
}
