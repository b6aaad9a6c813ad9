package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"
)

// Every name a Store creates beside a document is recognised by its
// package's classifier, with the document it belongs to; and a name that
// only looks alike is not.
func TestStoreNamesAreRecognised(t *testing.T) {
	type V2 struct {
		N int `json:"n"`
	}
	m := vfs.NewMem()
	const doc = "/d/app.json"
	if err := m.Mkdir("/d", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := vfs.WriteFile(m, doc, []byte(`{"schema":1,"n":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(doc, &store.Options[V2]{FS: m, Schema: 2, Backups: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if _, err := s.Update(context.Background(), func(v *V2) error { v.N = i + 2; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// Two recoveries in the same millisecond or not: corrupt copies.
	for range 2 {
		vfs.WriteFile(m, doc, []byte(`{"n":`), 0o600)
		if _, _, err := s.Get(); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := m.ReadDir("/d")
	seen := map[string]int{}
	for _, e := range ents {
		n := e.Name()
		if n == "app.json" || n == "app.json.lock" {
			continue
		}
		if of, k, ok := durable.ParseBackupName(n); ok && k >= 1 {
			seen["bak"]++
			if of != "app.json" {
				t.Errorf("%s: backup of %q", n, of)
			}
			continue
		}
		if of, at, ok := store.ParseCorruptName(n); ok {
			seen["corrupt"]++
			if of != "app.json" || time.Since(at) > time.Minute || time.Since(at) < -time.Second {
				t.Errorf("%s: corrupt copy of %q made at %v", n, of, at)
			}
			continue
		}
		if of, from, ok := store.ParsePreMigrationName(n); ok {
			seen["pre"]++
			if of != "app.json" || from != 1 {
				t.Errorf("%s: pre-migration copy of %q from %d", n, of, from)
			}
			continue
		}
		t.Errorf("%s: a name the store made that no classifier recognises", n)
	}
	if seen["bak"] != 3 || seen["corrupt"] != 2 || seen["pre"] != 1 {
		t.Errorf("names seen: %v; want 3 backups, 2 corrupt copies, 1 pre-migration copy", seen)
	}
	for _, bad := range []string{"x.corrupt.", "x.corrupt.2026-01-02", "x.corrupt.2026-01-02T03-04-05.000Z-1", "x.corrupt.2026-01-02T03-04-05.000Z-02",
		"x.corrupt.2026-01-02T03-04-05.000Zjunk", ".corrupt.2026-01-02T03-04-05.000Z", "x.pre-v", "x.pre-v1a", "x.pre-v01", ".pre-v1"} {
		if _, _, ok := store.ParseCorruptName(bad); ok {
			t.Errorf("ParseCorruptName(%q) accepted", bad)
		}
		if _, _, ok := store.ParsePreMigrationName(bad); ok {
			t.Errorf("ParsePreMigrationName(%q) accepted", bad)
		}
	}
	for _, good := range []string{"x.corrupt.2026-01-02T03-04-05.000Z", "dir/x.json.corrupt.2026-01-02T03-04-05.000Z-17"} {
		if of, _, ok := store.ParseCorruptName(good); !ok || filepath.Base(of) != strings.Split(filepath.Base(good), ".corrupt.")[0] {
			t.Errorf("ParseCorruptName(%q) = %q, %v", good, of, ok)
		}
	}
}
