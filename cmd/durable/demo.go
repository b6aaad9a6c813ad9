package main

import (
	"errors"

	"github.com/durable-go/durable/cmd/durable/internal/demo"
)

// The crash demo lives in internal/demo; these are its two verbs.

func demoVerb() verb {
	return verb{
		name:    "demo",
		summary: demo.Summary,
		about:   demo.About,
		example: demo.Example,
		run:     runDemo,
	}
}

func runDemo(c *cli, args []string) int {
	fs := c.flags()
	cfg := demo.AddFlags(fs)
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if err := cfg.Check(rest); err != nil {
		return c.usageError(err.Error())
	}
	return demo.Run(c.ctx, c.stdout, c.stderr, cfg)
}

// crashWriterName is the hidden verb the demo runs its writer children as.
const crashWriterName = demo.CrashWriterName

func crashWriterVerb() verb {
	return verb{
		name:    crashWriterName,
		summary: "the writer child of durable demo (internal)",
		about:   demo.CrashWriterAbout,
		hidden:  true,
		run:     runCrashWriter,
	}
}

func runCrashWriter(c *cli, args []string) int {
	fs := c.flags()
	if _, code, ok := c.parse(fs, args); !ok {
		return code
	}
	err := demo.RunCrashWriter(c.ctx, c.stdout)
	if errors.Is(err, demo.ErrNotChild) {
		return c.usageError(err.Error())
	}
	if err != nil {
		return c.fail(err, false)
	}
	return exitOK
}
