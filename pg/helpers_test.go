package pg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testURL is the server the tests use, from DURABLE_TEST_PG.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("DURABLE_TEST_PG")
	if u == "" {
		t.Skip(`DURABLE_TEST_PG is not set: these tests need a PostgreSQL server. scripts/test starts a throwaway one; by hand:
  mkdir -m 700 /tmp/pg && chown postgres /tmp/pg
  su postgres -c 'initdb -D /tmp/pg/data -A trust && pg_ctl -D /tmp/pg/data -o "-k /tmp/pg -c listen_addresses=" -w start'
  DURABLE_TEST_PG='postgres:///postgres?host=/tmp/pg&user=postgres' go test ./...`)
	}
	return u
}

// testSchema returns a fresh schema name, dropped when the test ends.
func testSchema(t testing.TB) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	if len(name) > 40 {
		name = name[:40]
	}
	name += "_" + hex.EncodeToString(b[:])
	u := testURL(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, u)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE")
	})
	return name
}

// openTest opens the test server with a schema of the test's own.
func openTest(t testing.TB) *DB {
	t.Helper()
	u := testURL(t)
	return openSchema(t, u, testSchema(t))
}

func openSchema(t testing.TB, u, schema string) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := Open(ctx, u, &Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// expectWatch waits for a Watch channel to send want; missing says what
// it means when nothing comes.
func expectWatch[R comparable](t *testing.T, ch <-chan R, want R, missing string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("Watch sent %v, want %v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal(missing)
	}
}
