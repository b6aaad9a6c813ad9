package pg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	// ErrBadURL: the connection URL does not parse, or names no object
	// where one is needed.
	ErrBadURL = errors.New("pg: bad connection URL")
	// ErrUnreachable: the server could not be reached (no such host or
	// socket, connection refused, timed out).
	ErrUnreachable = errors.New("pg: server unreachable")
	// ErrAuth: the server refused the credentials, or the role may not
	// connect to the database.
	ErrAuth = errors.New("pg: authentication failed")
	// ErrNotDurable: the server would acknowledge commits before they are
	// on disk (synchronous_commit=off, or fsync=off), which breaks the
	// promise that what returned survives a crash. Options can accept it
	// by name.
	ErrNotDurable = errors.New("pg: the server does not commit durably")
	// ErrSchemaTooNew: the schema was created by a newer version of this
	// package than the one running.
	ErrSchemaTooNew = errors.New("pg: schema is newer than this program")
)

// DefaultSchema is the schema that holds durable's tables unless
// Options.Schema names another.
const DefaultSchema = "durable"

// DefaultTimeout bounds a call whose context has no deadline, as in
// package lock: waiting forever for a server turns one stuck server into a
// hung fleet.
const DefaultTimeout = 30 * time.Second

// Options configure Open. Nil (or the zero value) is the safe default.
type Options struct {
	// Schema is the PostgreSQL schema that holds the tables
	// (DefaultSchema). It is created, and its tables created or migrated,
	// on first use; its version is recorded in its "meta" table.
	Schema string
	// AllowSynchronousCommitOff accepts a server or role configured with
	// synchronous_commit=off, which acknowledges commits before they are
	// flushed: a crash of the server then loses the last acknowledged
	// updates. Without it, Open refuses such a server with ErrNotDurable.
	AllowSynchronousCommitOff bool
	// AllowFsyncOff accepts a server running with fsync=off, which loses
	// or corrupts data on an operating-system crash or power loss.
	// Without it, Open refuses such a server with ErrNotDurable.
	AllowFsyncOff bool
	// MaxConns is the connection pool's size (pgxpool's default, the
	// larger of 4 and the number of CPUs, when 0). Each held lock keeps
	// one connection of its own, outside the pool's count of idle ones.
	MaxConns int32
}

// DB is a connection pool to one PostgreSQL database, with durable's
// schema in it. It is safe for concurrent use. Close it when done.
type DB struct {
	pool   *pgxpool.Pool
	schema string // sanitized identifier
	name   string // schema as given, for keys and errors
	where  string // the server, for errors (no password)
	o      Options

	lmu    sync.Mutex
	ln     *listener   // LISTEN connection, started on first use (listen.go)
	idle   []*pgx.Conn // lock sessions that hold nothing (lock.go)
	closed bool
}

// Open connects to the database that url names (a postgres:// or
// postgresql:// URL, or a key=value connection string; see pgx), checks
// that the server commits durably, and creates or migrates durable's
// schema. ctx bounds all of it (DefaultTimeout without a deadline).
//
// Errors wrap ErrBadURL, ErrUnreachable, ErrAuth, ErrNotDurable or
// ErrSchemaTooNew where they apply.
func Open(ctx context.Context, url string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, redact(err))
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	db := &DB{
		schema: pgx.Identifier{o.Schema}.Sanitize(),
		name:   o.Schema,
		where:  describe(cfg.ConnConfig),
		o:      o,
	}
	// Every connection is checked, not only the first: a role or
	// database setting can differ between them only by who connects, but
	// a pool may reconnect after a failover to a server set up otherwise.
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		return db.checkDurable(ctx, c.PgConn())
	}
	ctx, cancel := withDefault(ctx)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, db.classify("connect", err)
	}
	db.pool = pool
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes every connection, the listener's included. Locks still
// held are released by the server as their sessions end.
func (db *DB) Close() {
	db.lmu.Lock()
	if db.ln != nil {
		db.ln.close()
		db.ln = nil
	}
	idle := db.idle
	db.idle, db.closed = nil, true
	db.lmu.Unlock()
	for _, c := range idle {
		dropConn(c)
	}
	db.pool.Close()
}

// Pool is the connection pool, for a program's own queries.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Schema is the schema that holds durable's tables, as given in Options.
func (db *DB) Schema() string { return db.name }

func (db *DB) String() string { return fmt.Sprintf("pg.DB(%s, schema %s)", db.where, db.name) }

// table names one of durable's tables, schema-qualified and quoted.
func (db *DB) table(name string) string { return db.schema + "." + pgx.Identifier{name}.Sanitize() }

// checkDurable refuses a connection whose commits would not be durable
// when they are acknowledged, unless Options accept it by name.
func (db *DB) checkDurable(ctx context.Context, c *pgconn.PgConn) error {
	rows, err := c.Exec(ctx, "SHOW synchronous_commit; SHOW fsync").ReadAll()
	if err != nil {
		return err
	}
	val := func(i int) string {
		if i < len(rows) && len(rows[i].Rows) == 1 && len(rows[i].Rows[0]) == 1 {
			return string(rows[i].Rows[0][0])
		}
		return ""
	}
	if sc := val(0); sc == "off" && !db.o.AllowSynchronousCommitOff {
		return fmt.Errorf("%w: synchronous_commit is off for this connection, so a commit is acknowledged before it is on disk; set it to on (ALTER ROLE ... SET synchronous_commit = on) or accept the loss with Options.AllowSynchronousCommitOff", ErrNotDurable)
	}
	if f := val(1); f == "off" && !db.o.AllowFsyncOff {
		return fmt.Errorf("%w: the server runs with fsync=off, so a crash can lose or corrupt committed data; turn fsync on or accept it with Options.AllowFsyncOff", ErrNotDurable)
	}
	return nil
}

// classify wraps a connection error with the sentinel a caller (and the
// CLI's exit code) branches on.
func (db *DB) classify(op string, err error) error {
	if errors.Is(err, ErrNotDurable) {
		return fmt.Errorf("pg: %s %s: %w", op, db.where, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28000", "28P01", "42501":
			return fmt.Errorf("pg: %s %s: %w: %v", op, db.where, ErrAuth, err)
		case "3D000":
			return fmt.Errorf("pg: %s %s: %w: %v", op, db.where, ErrUnreachable, err)
		}
		return fmt.Errorf("pg: %s %s: %w", op, db.where, err)
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		if strings.Contains(err.Error(), "password authentication failed") || strings.Contains(err.Error(), "SASL") {
			return fmt.Errorf("pg: %s %s: %w: %v", op, db.where, ErrAuth, err)
		}
		return fmt.Errorf("pg: %s %s: %w: %w", op, db.where, ErrUnreachable, err)
	}
	return fmt.Errorf("pg: %s %s: %w", op, db.where, err)
}

// describe names the server without the password.
func describe(c *pgx.ConnConfig) string {
	host := c.Host
	if strings.HasPrefix(host, "/") {
		return fmt.Sprintf("%s (socket %s, database %s)", c.User, host, c.Database)
	}
	return fmt.Sprintf("%s@%s:%d/%s", c.User, host, c.Port, c.Database)
}

// redact drops what a parse error may quote of the URL (a password).
func redact(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "://"); i >= 0 {
		if j := strings.Index(msg[i:], "@"); j >= 0 {
			msg = msg[:i+3] + "…" + msg[i+j:]
		}
	}
	return errors.New(msg)
}

// withDefault gives ctx DefaultTimeout when it has no deadline.
func withDefault(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// finishBatch reads the results of a batch's next n statements, unless err
// (from reading the ones before) is already set, then closes it, and
// returns the first error.
func finishBatch(res pgx.BatchResults, n int, err error) error {
	for ; n > 0 && err == nil; n-- {
		_, err = res.Exec()
	}
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	return err
}
