package fsck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/store"
)

// TestStoreLog: a store's patch log with patches pending is clean; one
// whose snapshot was edited without the lock while patches were pending
// is a store-log problem that names the way out, and fsck changes nothing.
func TestStoreLog(t *testing.T) {
	dir := testdir.New(t)
	doc := filepath.Join(dir, "state.json")
	type state struct {
		N int `json:"n"`
	}
	ctx := context.Background()
	s, err := store.Open(doc, &store.Options[state]{Log: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.Update(ctx, func(d *state) error { d.N = i + 1; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	kinds := func() map[Kind][]Finding {
		rep, err := Check(ctx, []string{dir}, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[Kind][]Finding{}
		for _, f := range rep.Findings {
			out[f.Kind] = append(out[f.Kind], f)
		}
		return out
	}
	if k := kinds(); len(k[StoreLog]) != 0 || len(k[CorruptJournal]) != 0 {
		t.Fatalf("a log with pending patches: %+v", k)
	}
	os.WriteFile(doc, []byte(`{"n":100}`), 0o600)
	k := kinds()
	if len(k[StoreLog]) != 1 || !strings.Contains(k[StoreLog][0].Action, "--discard") || k[StoreLog][0].Path != store.LogName(doc) {
		t.Fatalf("an unlocked edit with patches pending: %+v", k)
	}
	if data, _ := os.ReadFile(doc); string(data) != `{"n":100}` {
		t.Errorf("fsck changed the document: %s", data)
	}
	if _, err := s.DiscardLog(ctx); err != nil {
		t.Fatal(err)
	}
	if k := kinds(); len(k[StoreLog]) != 0 {
		t.Fatalf("after DiscardLog: %+v", k)
	}
	s.Close()
}
