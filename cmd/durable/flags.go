package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// flags returns an empty flag set for the running verb. Parse it with
// c.parse, which handles --help and usage errors the same way for every
// verb.
func (c *cli) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("durable "+c.verb.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // c.parse prints errors and help itself
	return fs
}

// parse parses args, letting flags and arguments come in any order (as in
// "durable write FILE --backup"; "--" ends the flags). It returns the
// arguments, or ok=false and the exit code: 0 after --help (printed to
// stdout), exitUsage after a bad flag (explained on stderr).
func (c *cli) parse(fs *flag.FlagSet, args []string) (rest []string, code int, ok bool) {
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			c.help(c.stdout, fs)
			return nil, exitOK, false
		}
		if err != nil {
			return nil, c.usageError(err.Error()), false
		}
		left := fs.Args()
		if len(left) == 0 {
			return rest, 0, true
		}
		// The flag package stops at the first argument, or just after a
		// "--", which it consumes: then everything left is an argument.
		if used := len(args) - len(left); used > 0 && args[used-1] == "--" {
			return append(rest, left...), 0, true
		}
		rest = append(rest, left[0])
		args = left[1:]
	}
}

// usageError explains a bad command line on stderr and returns exitUsage.
func (c *cli) usageError(msg string) int {
	fmt.Fprintf(c.stderr, "durable %s: %s\nusage: %s\nRun 'durable %s --help' for details.\n",
		c.verb.name, msg, c.usageLine(), c.verb.name)
	return exitUsage
}

func (c *cli) usageLine() string {
	line := "durable " + c.verb.name + " [flags]"
	if c.verb.args != "" {
		line += " " + c.verb.args
	}
	return line
}

// help prints the verb's usage line, description, example and flags, the
// flags spelled with two dashes (one works too).
func (c *cli) help(w io.Writer, fs *flag.FlagSet) {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s\n\n", c.usageLine())
	if c.verb.about != "" {
		b.WriteString(strings.TrimSpace(c.verb.about) + "\n\n")
	}
	if !strings.Contains(c.verb.about, "Exit code") {
		// A verb that does not list its own gives the table every verb
		// follows.
		b.WriteString(exitCodeHelp() + "\n")
	}
	if c.verb.example != "" {
		b.WriteString("Example:\n")
		for _, ex := range strings.Split(c.verb.example, "\n") {
			fmt.Fprintf(&b, "  $ %s\n", ex)
		}
		b.WriteString("\n")
	}
	b.WriteString("Flags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if name != "" {
			head += " " + name
		}
		fmt.Fprintf(&b, "%s\n      %s", head, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	})
	b.WriteString("  --help\n      print this help\n")
	io.WriteString(w, b.String())
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
