package pg

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSchemaIsCreatedOnceWithItsVersion(t *testing.T) {
	u := testURL(t)
	schema := testSchema(t)
	// Several processes' worth of Opens at once: one creates, none fails.
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			db, err := Open(ctxT(t), u, &Options{Schema: schema})
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	db := openSchema(t, u, schema)
	var v int
	if err := db.Pool().QueryRow(ctxT(t), "SELECT value FROM "+db.table("meta")+" WHERE key = 'version'").Scan(&v); err != nil || v != SchemaVersion {
		t.Fatalf("recorded version %d (%v), want %d", v, err, SchemaVersion)
	}
	if _, err := db.Pool().Exec(ctxT(t), "UPDATE "+db.table("meta")+" SET value = $1 WHERE key = 'version'", SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctxT(t), u, &Options{Schema: schema}); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

// withParam adds a query parameter to a connection URL.
func withParam(t *testing.T, u, k, v string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Skipf("DURABLE_TEST_PG is not a URL: %v", err)
	}
	q := p.Query()
	q.Set(k, v)
	p.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return p.String()
}

func TestRefusesSynchronousCommitOffUnlessAskedByName(t *testing.T) {
	u := withParam(t, testURL(t), "options", "-c synchronous_commit=off")
	schema := testSchema(t)
	_, err := Open(ctxT(t), u, &Options{Schema: schema})
	if !errors.Is(err, ErrNotDurable) || !strings.Contains(err.Error(), "synchronous_commit") {
		t.Fatalf("Open with synchronous_commit=off: %v", err)
	}
	db, err := Open(ctxT(t), u, &Options{Schema: schema, AllowSynchronousCommitOff: true})
	if err != nil {
		t.Fatalf("Open that accepts it: %v", err)
	}
	db.Close()
}

func TestConnectionErrorsAreClassified(t *testing.T) {
	ctx := ctxT(t)
	if _, err := Open(ctx, "postgres://%zz", nil); !errors.Is(err, ErrBadURL) {
		t.Errorf("bad URL: %v", err)
	}
	if _, err := Open(ctx, "postgres://u:hunter2@[::1", nil); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a bad URL's error shows the password: %v", err)
	}
	if _, err := Open(ctx, "postgres:///x?host=/nonexistent-dir-h24&connect_timeout=2", nil); !errors.Is(err, ErrUnreachable) {
		t.Errorf("no server: %v", err)
	}
	if _, err := Open(ctx, withParam(t, testURL(t), "user", "no_such_role_h24"), nil); !errors.Is(err, ErrAuth) {
		t.Errorf("unknown role: %v", err)
	}
}

// A server that accepts connections and then never answers: every call
// ends when its context does.
func TestSilentServerEndsCallsOnTime(t *testing.T) {
	testURL(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	addr := ln.Addr().(*net.TCPAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Open(ctx, "postgres://x@127.0.0.1:"+itoa(addr.Port)+"/x?sslmode=disable", nil)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Open took %v with a 300ms context", took)
	}
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("silent server: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
