package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/journal"
)

// stringsFlag is a flag that may be given several times.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// serveHTTP serves h on addr until the command's context ends, printing
// the address it listens on.
func serveHTTP(c *cli, addr string, h http.Handler, what string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return c.fail(err, false)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(c.stdout, "serving %s on http://%s\n", what, ln.Addr())
	ctx := c.context()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return c.fail(err, false)
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return c.fail(err, false)
		}
		return exitOK
	}
}

func runLogServe(c *cli, args []string) int {
	fs := c.flags()
	addr := fs.String("addr", "localhost:8080", "`address` to listen on")
	j, dir, code, ok := c.parseReadLog(fs, args, nil)
	if !ok {
		return code
	}
	defer j.Close()
	return serveHTTP(c, *addr, j.TilesHandler(), "the log "+dir+" as tlog-tiles")
}

func logWitnessSubs() map[string]subverb {
	return map[string]subverb{
		"add": {"NAME URL VKEY DIR", `Adds a witness: each checkpoint signed from now on is pushed to
URL/add-checkpoint with a consistency proof, and its cosignature attached.
VKEY is the witness's public key or a file holding it.`,
			"durable log witness add w1 https://witness.example.org w1.pub /var/log/app-audit", runLogWitnessAdd},
		"remove": {"NAME DIR", `Stops pushing checkpoints to the witness NAME.`,
			"durable log witness remove w1 /var/log/app-audit", runLogWitnessRemove},
		"list": {"DIR", `Prints each witness: its name, URL, key and the largest tree it cosigned.`,
			"durable log witness list /var/log/app-audit", runLogWitnessList},
	}
}

func runLogWitness(c *cli, args []string) int { return c.dispatch(args, logWitnessSubs()) }

func runLogWitnessAdd(c *cli, args []string) int {
	rest, code, ok := c.parse(c.flags(), args)
	if !ok {
		return code
	}
	if len(rest) != 4 {
		return c.usageError("want NAME URL VKEY DIR")
	}
	code = c.withJournal(rest[3], func(j *journal.Journal) error {
		return j.AddWitness(c.ctx, rest[0], rest[1], strings.TrimSpace(readKeyArg(rest[2])))
	})
	if code == exitOK {
		fmt.Fprintf(c.stdout, "witness %s added: each checkpoint is pushed to %s/add-checkpoint\n", rest[0], strings.TrimSuffix(rest[1], "/"))
	}
	return code
}

func runLogWitnessRemove(c *cli, args []string) int {
	rest, code, ok := c.parse(c.flags(), args)
	if !ok {
		return code
	}
	if len(rest) != 2 {
		return c.usageError("want NAME DIR")
	}
	return c.withJournal(rest[1], func(j *journal.Journal) error {
		return j.RemoveWitness(c.ctx, rest[0])
	})
}

func runLogWitnessList(c *cli, args []string) int {
	rest, code, ok := c.parse(c.flags(), args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("want one DIR")
	}
	ws, err := journal.Witnesses(rest[0])
	if err != nil {
		return c.fail(err, false)
	}
	for _, w := range ws {
		fmt.Fprintf(c.stdout, "%s %s %s cosigned:%d\n", w.Name, w.URL, w.Key, w.Size)
	}
	return exitOK
}

// withJournal opens the log in dir for writing and changes its
// configuration with fn; a refusal of fn's input is a usage error.
func (c *cli) withJournal(dir string, fn func(*journal.Journal) error) int {
	j, err := journal.Open(dir, nil)
	if err != nil {
		return c.fail(err, false)
	}
	defer j.Close()
	if err := fn(j); err != nil {
		return c.failInput(err)
	}
	return exitOK
}

// failInput reports a refusal of bad input (a journal.Error that is not
// damage, tampering or I/O) as a usage error, exit 2.
func (c *cli) failInput(err error) int {
	var je *journal.Error
	var pe *fs.PathError
	if errors.As(err, &je) && !errors.As(err, &pe) && exitCode(err) == exitFailure {
		return c.usageError(err.Error())
	}
	return c.fail(err, false)
}

// readKeyArg returns the key in the file named arg, or arg itself when no
// such file exists: keys may be given inline or as files.
func readKeyArg(arg string) string {
	if b, err := os.ReadFile(arg); err == nil {
		return string(b)
	}
	return arg
}

// witnessVerifiers parses --witness keys.
func witnessVerifiers(keys []string) ([]note.Verifier, error) {
	var vs []note.Verifier
	for _, k := range keys {
		v, err := journal.NewCosignatureVerifier(strings.TrimSpace(readKeyArg(k)))
		if err != nil {
			return nil, fmt.Errorf("--witness %q: %w", k, err)
		}
		vs = append(vs, v)
	}
	return vs, nil
}
