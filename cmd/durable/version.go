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
		about: `Prints the module version durable was built from, read from the build
info: v1.2.3 after "go install github.com/durable-go/durable/cmd/durable@v1.2.3",
"devel" for a local build (with its commit when the build recorded one).

Exit codes: 0 printed; 2 usage error. With --json: {"version", "go"}.`,
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
// as "go install ...@v1.2.3" records it in the build info, or "devel",
// with the commit when the build recorded one ("devel+abc123def456",
// "+dirty" for uncommitted changes).
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	v, dirty := "devel", false
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			v += "+" + s.Value[:12]
		case s.Key == "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		v += "+dirty"
	}
	return v
}
