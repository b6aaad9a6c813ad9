// Command durable-pg runs durable's store, lock and queue verbs on
// PostgreSQL (package github.com/durable-go/durable/pg). The durable
// command hands it every verb whose object is a postgres:// or
// postgresql:// URL, so users call it through durable:
//
//	durable store incr 'postgres:///app?host=/run/postgresql#settings' runs
//	durable lock 'postgres://db.internal/app#nightly' -- ./report.sh
//	echo job | durable queue push 'postgres:///app#jobs'
//
// The object's name is the URL's fragment; the rest is a pgx connection
// URL. It lives in the pg module so that durable itself keeps to the
// standard library.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/pg"
	"github.com/durable-go/durable/queue"
)

// Exit codes: durable's, plus the ones a server adds. They match
// cmd/durable's table.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitLocked      = 6
	exitTimeout     = 7
	exitCorrupt     = 8
	exitConflict    = 10
	exitBadURL      = 20
	exitUnreachable = 21
	exitAuth        = 22
	exitNotDurable  = 23
)

type cli struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	c := &cli{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	code := c.main(os.Args[1:])
	stop()
	os.Exit(code)
}

const usage = `usage: durable-pg store|lock|queue ... (or through durable, with a postgres:// URL)

  store get|set|delete|incr URL#NAME [KEY.PATH] [VALUE]
  edit URL#NAME                (saved only if nobody changed it meanwhile)
  lock [--timeout D] URL#NAME -- COMMAND [ARGS...]
  queue push|pop|ack|nack|extend|ls|dead URL#NAME ...

KEY.PATH names nested members as in durable store: dots separate keys,
\. is a dot inside a key.

URL is a postgres:// or postgresql:// connection URL; the object's name is
its fragment, e.g. 'postgres:///app?host=/run/postgresql#settings'.
Flags: --schema NAME (default "durable") picks the schema of the tables;
--allow-synchronous-commit-off accepts a server that acknowledges commits
before they are flushed.

Exit codes: 0 ok, 1 failure, 2 usage, 6 locked, 7 timed out, 8 corrupt,
10 conflict (or a lease lost), 20 bad URL, 21 server unreachable,
22 authentication failed, 23 server does not commit durably.
`

func (c *cli) main(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(c.stdout, usage)
		return exitOK
	case "store":
		return c.runStore(args[1:])
	case "edit":
		return c.runEdit(args[1:])
	case "lock":
		return c.runLock(args[1:])
	case "queue":
		return c.runQueue(args[1:])
	}
	fmt.Fprintf(c.stderr, "durable-pg: unknown verb %q\n%s", args[0], usage)
	return exitUsage
}

// IsURL reports whether s is a PostgreSQL URL.
func isURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// target is a parsed URL#NAME.
type target struct {
	conn string // the connection URL, without the fragment
	name string // the object
}

func parseTarget(s string) (target, error) {
	if !isURL(s) {
		return target{}, fmt.Errorf("%w: %q is not a postgres:// or postgresql:// URL", pg.ErrBadURL, s)
	}
	conn, frag, _ := strings.Cut(s, "#")
	name, err := url.PathUnescape(frag)
	if err != nil {
		return target{}, fmt.Errorf("%w: the fragment %q does not decode: %v", pg.ErrBadURL, frag, err)
	}
	if name == "" {
		return target{}, fmt.Errorf("%w: name the object in the URL's fragment, as in 'postgres:///app#settings'", pg.ErrBadURL)
	}
	if _, err := url.Parse(conn); err != nil {
		return target{}, fmt.Errorf("%w: %v", pg.ErrBadURL, redact(err))
	}
	return target{conn: conn, name: name}, nil
}

// redact keeps a password out of a URL parse error.
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// dbOptions are the flags every verb shares.
type dbOptions struct {
	schema    string
	allowSync bool
}

func (c *cli) open(ctx context.Context, t target, o dbOptions) (*pg.DB, error) {
	return pg.Open(ctx, t.conn, &pg.Options{Schema: o.schema, AllowSynchronousCommitOff: o.allowSync})
}

func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, pg.ErrBadURL):
		return exitBadURL
	case errors.Is(err, pg.ErrAuth):
		return exitAuth
	case errors.Is(err, pg.ErrNotDurable):
		return exitNotDurable
	case errors.Is(err, pg.ErrUnreachable):
		return exitUnreachable
	case errors.Is(err, durable.ErrLocked):
		return exitLocked
	case errors.Is(err, durable.ErrCorrupt):
		return exitCorrupt
	case errors.Is(err, durable.ErrConflict), errors.Is(err, pg.ErrLeaseLost):
		return exitConflict
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, queue.ErrLeaseExpired):
		return exitTimeout
	}
	return exitFailure
}

// fail prints err as durable does and returns its exit code.
func (c *cli) fail(err error, asJSON bool) int {
	code := exitCode(err)
	if asJSON {
		fmt.Fprintf(c.stdout, "{\"error\": %q, \"code\": %d}\n", err.Error(), code)
		return code
	}
	fmt.Fprintf(c.stderr, "durable: %v\n", err)
	return code
}

func (c *cli) usageError(msg string) int {
	fmt.Fprintf(c.stderr, "durable: %s\n", msg)
	return exitUsage
}
