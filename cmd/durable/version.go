package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

func versionVerb() verb {
	return verb{
		name:    "version",
		summary: "print the version of durable",
		about:   "Prints the module version durable was built from (\"devel\" for a local build).",
		example: "durable version",
		run:     runVersion,
	}
}

func runVersion(c *cli, args []string) int {
	fs := c.flags()
	asJSON := fs.Bool("json", false, "print as JSON")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 0 {
		return c.usageError("takes no arguments")
	}
	v := moduleVersion()
	if *asJSON {
		c.printJSON(struct {
			Version string `json:"version"`
			Go      string `json:"go"`
		}{v, runtime.Version()})
		return exitOK
	}
	fmt.Fprintf(c.stdout, "durable %s (%s)\n", v, runtime.Version())
	return exitOK
}

// moduleVersion is the version of the module the binary was built from,
// as "go install ...@v1.2.3" records it, or "devel".
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
	}
	return "devel"
}
