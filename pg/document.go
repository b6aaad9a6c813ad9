package pg

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/durable-go/durable/store"
)

// OpenStore opens the document name, kept in a row of the database, as a
// *store.Store: the same type, with the same Update, Replace, Get, Watch,
// Validate, schema versions and migrations as a document in a file (see
// package store), shared by every process on every machine that opens it.
// Only the constructor differs from store.Open:
//
//	s, err := store.Open[Config]("config.json", opts)   // one machine
//	s, err := pg.OpenStore[Config](db, "config", opts)  // many
//
// The row holds exactly the bytes the file would, so a document can move
// between the two with `durable store get` and `durable store set`.
// Options.FS, Perm, Secret and Backups do not apply; database access
// control and backups stand in for them.
func OpenStore[T any](db *DB, name string, opts *store.Options[T]) (*store.Store[T], error) {
	if name == "" {
		return nil, fmt.Errorf("pg: a document needs a name")
	}
	var o store.Options[T]
	if opts != nil {
		o = *opts
	}
	o.Backend = db.Document(name)
	return store.Open(name, &o)
}

// Document returns the store.Backend that keeps the document name in the
// database, for store.Options.Backend.
func (db *DB) Document(name string) store.Backend { return &document{db: db, name: name} }

type document struct {
	db   *DB
	name string
}

var _ store.Backend = (*document)(nil)

// Name is "pg:" followed by the schema and the document's name: Stores of
// one document in one process share their transactions.
func (d *document) Name() string { return "pg:" + d.db.name + "#" + d.name }

func (d *document) wrap(op string, err error) error {
	return fmt.Errorf("pg: %s document %q (schema %s on %s): %w", op, d.name, d.db.name, d.db.where, err)
}

func (d *document) Read(ctx context.Context) ([]byte, error) {
	ctx, cancel := withDefault(ctx)
	defer cancel()
	var data []byte
	err := d.db.pool.QueryRow(ctx, "SELECT data FROM "+d.db.table("documents")+" WHERE name = $1", d.name).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, d.wrap("reading", err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// Update serialises the document's transactions with a transaction-scoped
// advisory lock (so that a document not yet in the table is locked too),
// and stores fn's result in the same transaction. It returns once the
// commit is acknowledged, which with synchronous_commit on (see Open)
// means flushed to the write-ahead log.
func (d *document) Update(ctx context.Context, fn func(old []byte) ([]byte, error)) error {
	ctx, cancel := withDefault(ctx)
	defer cancel()
	conn, err := d.db.pool.Acquire(ctx)
	if err != nil {
		return d.wrap("updating", err)
	}
	// Two round trips and one flush: BEGIN, the lock and the read go
	// together, then the write, the notification and COMMIT.
	ok := false
	defer func() {
		if !ok {
			// Whatever state the session is in, a new one is clean.
			conn.Conn().Close(context.Background())
		}
		conn.Release()
	}()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SELECT pg_advisory_xact_lock($1, hashtext($2))", keyDocument, d.db.name+":"+d.name)
	b.Queue("SELECT data FROM "+d.db.table("documents")+" WHERE name = $1", d.name)
	var old []byte
	found := false
	res := conn.SendBatch(ctx, b)
	_, err = res.Exec()
	if err == nil {
		_, err = res.Exec()
	}
	if err == nil {
		var rows pgx.Rows
		if rows, err = res.Query(); err == nil {
			for rows.Next() {
				found = true
				err = rows.Scan(&old)
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
	}
	if err = finishBatch(res, 0, err); err != nil {
		return d.wrap("updating", err)
	}
	if found && old == nil {
		old = []byte{}
	}
	next, fnErr := fn(old)
	if fnErr != nil {
		if _, err := conn.Exec(ctx, "ROLLBACK"); err == nil {
			ok = true
		}
		if errors.Is(fnErr, store.ErrNoChange) {
			return nil
		}
		return fnErr
	}
	b = &pgx.Batch{}
	b.Queue("INSERT INTO "+d.db.table("documents")+" (name, data, revision) VALUES ($1, $2, 1) "+
		"ON CONFLICT (name) DO UPDATE SET data = excluded.data, revision = "+d.db.table("documents")+".revision + 1, updated_at = now()",
		d.name, next)
	b.Queue(notifySQL, d.db.channel(), changeKey("d", d.name))
	b.Queue("COMMIT")
	if err = finishBatch(conn.SendBatch(ctx, b), 3, nil); err != nil {
		return d.wrap("updating", err)
	}
	ok = true
	return nil
}

func (d *document) Changes(ctx context.Context) <-chan struct{} {
	sub, unsubscribe := d.db.subscribe(changeKey("d", d.name))
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub:
			}
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}
