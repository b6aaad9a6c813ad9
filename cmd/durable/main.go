// Command durable keeps small, critical files safe from the shell: it
// replaces files atomically and durably, and shows the crash torture that
// proves it.
//
//	durable write FILE -- CMD ARGS   replace FILE with CMD's output, only if CMD exits 0
//	durable write FILE < data        atomically replace FILE (empty input is refused)
//	durable demo                     kill -9 and power cuts, live
//	durable version
//
// Run "durable --help" for every verb and "durable VERB --help" for its
// flags and an example. Exit codes are listed in exitcodes.go and in
// "durable --help".
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/durable-go/durable/internal/bench"
)

// verbs lists the commands, in the order "durable --help" shows them. A new
// verb is one line here and a file of its own that returns its verb.
func verbs() []verb {
	return []verb{
		writeVerb(),
		storeVerb(),
		editVerb(),
		lockVerb(),
		jsonlVerb(),
		logVerb(),
		witnessVerb(),
		queueVerb(),
		fsckVerb(),
		demoVerb(),
		benchVerb(),
		versionVerb(),
		completionVerb(),
		crashWriterVerb(),
	}
}

// A verb is one command: durable <name> [flags] <args>.
type verb struct {
	name    string
	args    string // what follows the flags in the usage line, e.g. "FILE"
	summary string // one line for "durable --help"
	about   string // what "durable <name> --help" says before the flags
	example string // one or more example command lines
	hidden  bool   // an internal verb, left out of "durable --help"
	run     func(c *cli, args []string) int
}

// cli is what a verb talks to: the standard streams and a context that is
// cancelled on interrupt. Tests fill it with buffers.
type cli struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	verb   verb // the verb running, for its usage text
}

func main() {
	if bench.WorkerMain() {
		// durable bench scale's worker processes are this binary.
		return
	}
	ctx, stop := notifyContext()
	c := &cli{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	code := c.main(os.Args[1:])
	stop()
	os.Exit(code)
}

// main dispatches args to a verb and returns the exit code.
func (c *cli) main(args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		c.usage(c.stdout)
		return exitOK
	case "help":
		if len(args) > 1 {
			return c.main([]string{args[1], "--help"})
		}
		c.usage(c.stdout)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	if code, ok := c.delegatePG(name, args[1:]); ok { // pg.go
		return code
	}
	for _, v := range verbs() {
		if v.name == name {
			c.verb = v
			return v.run(c, args[1:])
		}
	}
	var names []string
	for _, v := range verbs() {
		if !v.hidden {
			names = append(names, v.name)
		}
	}
	if s := suggest(name, names); s != "" {
		fmt.Fprintf(c.stderr, "durable: unknown command %q; did you mean %s?\nRun 'durable --help' for the list.\n", name, s)
	} else {
		fmt.Fprintf(c.stderr, "durable: unknown command %q\nRun 'durable --help' for the list.\n", name)
	}
	return exitUsage
}

// usage prints the overview: verbs with their examples, and exit codes.
func (c *cli) usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("durable keeps small, critical files safe: atomic, durable replaces that\n")
	b.WriteString("survive kill -9, power cuts and full disks.\n\n")
	b.WriteString("usage: durable <command> [flags] [args]\n\n")
	b.WriteString("Commands:\n")
	for _, v := range verbs() {
		if v.hidden {
			continue
		}
		fmt.Fprintf(&b, "  %-10s %s\n", v.name, v.summary)
		for _, ex := range strings.Split(v.example, "\n") {
			fmt.Fprintf(&b, "  %-10s   $ %s\n", "", ex)
		}
	}
	b.WriteString("\nRun 'durable <command> --help' for its flags.\n\n")
	b.WriteString(exitCodeHelp())
	io.WriteString(w, b.String())
}
