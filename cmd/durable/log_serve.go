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
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
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
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("want one DIR")
	}
	j, err := openRead(rest[0])
	if err != nil {
		return c.fail(err, false)
	}
	defer j.Close()
	return serveHTTP(c, *addr, j.TilesHandler(), "the log "+rest[0]+" as tlog-tiles")
}

func runLogWitness(c *cli, args []string) int {
	if len(args) == 0 {
		return c.usageError("want add, remove or list")
	}
	if args[0] == "help" || strings.HasPrefix(args[0], "-") {
		if args[0] == "help" {
			args = []string{"--help"}
		}
		if _, code, ok := c.parse(c.flags(), args); !ok {
			return code
		}
		return c.usageError("want add, remove or list before the flags")
	}
	sub, args := args[0], args[1:]
	fs := c.flags()
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	switch sub {
	case "add":
		if len(rest) != 4 {
			return c.usageError("want add NAME URL VKEY DIR")
		}
		j, err := journal.Open(rest[3], nil)
		if err != nil {
			return c.fail(err, false)
		}
		defer j.Close()
		if err := j.AddWitness(c.ctx, rest[0], rest[1], strings.TrimSpace(readKeyArg(rest[2]))); err != nil {
			return c.failInput(err)
		}
		fmt.Fprintf(c.stdout, "witness %s added: each checkpoint is pushed to %s/add-checkpoint\n", rest[0], strings.TrimSuffix(rest[1], "/"))
	case "remove":
		if len(rest) != 2 {
			return c.usageError("want remove NAME DIR")
		}
		j, err := journal.Open(rest[1], nil)
		if err != nil {
			return c.fail(err, false)
		}
		defer j.Close()
		if err := j.RemoveWitness(c.ctx, rest[0]); err != nil {
			return c.failInput(err)
		}
	case "list":
		if len(rest) != 1 {
			return c.usageError("want list DIR")
		}
		ws, err := journal.Witnesses(rest[0])
		if err != nil {
			return c.fail(err, false)
		}
		for _, w := range ws {
			fmt.Fprintf(c.stdout, "%s %s %s cosigned:%d\n", w.Name, w.URL, w.Key, w.Size)
		}
	default:
		return c.usageError(fmt.Sprintf("unknown witness subcommand %q: want add, remove or list", sub))
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
