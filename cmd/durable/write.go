package main

import (
	"fmt"
	"io"
	"io/fs"
	"strconv"

	"github.com/durable-go/durable"
)

func writeVerb() verb {
	return verb{
		name:    "write",
		args:    "FILE",
		summary: "atomically replace FILE with stdin",
		about: `Reads stdin to the end, then replaces FILE with it atomically and durably
(durable.WriteFile): a temp file beside FILE is written, fsynced and renamed
over FILE, and the directory is fsynced. It exits 0 only once the new content
is on disk; if it fails or is killed, FILE is exactly as it was. A symbolic
link is followed and kept. Missing directories are created (0700 for 0600
files).

A new file gets --mode (less the umask); an existing one keeps its mode
unless --mode is given. --no-sync skips the fsyncs: the replace is still
atomic, but may be lost in a power cut (for caches).`,
		example: `echo '{"token":"abc"}' | durable write --mode 0600 ~/.config/app/token.json
jq '.count += 1' state.json | durable write --backup state.json`,
		run: runWrite,
	}
}

func runWrite(c *cli, args []string) int {
	fs := c.flags()
	mode := fs.String("mode", "0600", "`permissions` of a new file, in octal; given explicitly, also applied to an existing file (whose owner and group are kept)")
	backup := fs.Bool("backup", false, "keep the previous version as FILE.bak")
	noSync := fs.Bool("no-sync", false, "skip fsync: atomic, but not durable across a power cut")
	noClobber := fs.Bool("no-clobber", false, "fail with exit code 3 if FILE exists")
	noFollow := fs.Bool("no-follow", false, "refuse to write through a symbolic link")
	asJSON := fs.Bool("json", false, "print the result, or the error, as JSON on stdout")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError(fmt.Sprintf("want one FILE, got %d arguments", len(rest)))
	}
	file := rest[0]
	perm, err := parseMode(*mode)
	if err != nil {
		return c.usageError(err.Error())
	}

	var opts []durable.Option
	durability := durable.Full
	if *noSync {
		durability = durable.Cache
		opts = append(opts, durable.WithDurability(durable.Cache))
	}
	if *backup {
		opts = append(opts, durable.Backup())
	}
	if *noClobber {
		opts = append(opts, durable.NoClobber())
	}
	if *noFollow {
		opts = append(opts, durable.NoFollow())
	}
	if flagSet(fs, "mode") {
		opts = append(opts, durable.ForcePerm())
	}

	// All of stdin first: if it breaks off, FILE is not touched.
	data, err := io.ReadAll(c.stdin)
	if err != nil {
		return c.fail(fmt.Errorf("reading stdin: %w; %s is unchanged", err, file), *asJSON)
	}
	if err := durable.WriteFile(file, data, perm, opts...); err != nil {
		return c.fail(err, *asJSON)
	}
	if *asJSON {
		c.printJSON(struct {
			File       string `json:"file"`
			Bytes      int    `json:"bytes"`
			Durability string `json:"durability"`
		}{file, len(data), durability.String()})
	}
	return exitOK
}

// parseMode parses an octal permission like 0600 or 644.
func parseMode(s string) (fs.FileMode, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("--mode %q: want octal permissions such as 0600", s)
	}
	return fs.FileMode(m), nil
}
