package pg

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// SchemaVersion is the version of durable's tables this package creates
// and reads. Open records it in the schema's meta table, migrating older
// tables step by step, and refuses tables of a newer version.
const SchemaVersion = 1

// migrations[v] brings the tables from version v to v+1. "{s}" stands for
// the quoted schema. Each step runs in the transaction that records the new
// version, so a crash leaves the old version or the new one.
var migrations = []string{
	0: `
CREATE TABLE {s}.documents (
	name       text PRIMARY KEY,
	data       bytea NOT NULL,
	revision   bigint NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {s}.queue (
	id          bigserial PRIMARY KEY,
	queue       text NOT NULL,
	payload     bytea NOT NULL,
	attempts    integer NOT NULL DEFAULT 0,
	lease       bigint NOT NULL DEFAULT 0,
	leased      boolean NOT NULL DEFAULT false,
	visible_at  timestamptz NOT NULL DEFAULT now(),
	dead        boolean NOT NULL DEFAULT false,
	pushed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX queue_ready ON {s}.queue (queue, visible_at, id) WHERE NOT dead;
CREATE INDEX queue_dead ON {s}.queue (queue, id) WHERE dead;
`,
}

// Advisory locks taken with two int4 keys never meet those taken with one
// int8 key (package pg's Lock): the first key says what the second is.
const (
	keySchema   = 0x64757261 // "dura": the schema's migration
	keyDocument = 0x646f6373 // "docs": one document's transactions
)

// migrate creates the schema and its tables, or brings them to
// SchemaVersion, under a transaction-scoped advisory lock so that
// processes opening a new database at once do it once.
func (db *DB) migrate(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", keySchema, db.name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+db.schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+db.table("meta")+" (key text PRIMARY KEY, value bigint NOT NULL)"); err != nil {
			return err
		}
		var v int64
		err := tx.QueryRow(ctx, "SELECT value FROM "+db.table("meta")+" WHERE key = 'version'").Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			v = 0
		} else if err != nil {
			return err
		}
		if v > SchemaVersion {
			return fmt.Errorf("%w: schema %s is at version %d, this program knows up to %d", ErrSchemaTooNew, db.name, v, SchemaVersion)
		}
		if v == SchemaVersion {
			return nil
		}
		for ; v < SchemaVersion; v++ {
			if _, err := tx.Exec(ctx, strings.ReplaceAll(migrations[v], "{s}", db.schema)); err != nil {
				return fmt.Errorf("migrating schema %s from version %d: %w", db.name, v, err)
			}
		}
		_, err = tx.Exec(ctx, "INSERT INTO "+db.table("meta")+" (key, value) VALUES ('version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", v)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrSchemaTooNew) {
			return err
		}
		return db.classify("preparing schema "+db.name+" on", err)
	}
	return nil
}
