package durable_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/prerename"
	"github.com/durable-go/durable/internal/testdir"
)

// The step package store hands Updater.Update through its context
// (internal/prerename) runs after the new version is written and before
// the rename, and its failure abandons the replace: the file keeps its old
// content and no temp file is left.
func TestUpdaterWaitsBeforeRename(t *testing.T) {
	dir := testdir.New(t)
	path := filepath.Join(dir, "f.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := durable.NewUpdater(path)
	defer u.Close()
	calls := 0
	ctx := prerename.With(context.Background(), func() error {
		calls++
		if got, _ := os.ReadFile(path); string(got) != "old" {
			t.Errorf("before the rename the file holds %q", got)
		}
		return nil
	})
	if err := u.Update(ctx, func([]byte) ([]byte, error) { return []byte("new"), nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new" || calls != 1 {
		t.Fatalf("file %q after %d calls; want \"new\" after 1", got, calls)
	}
	boom := errors.New("boom")
	ctx = prerename.With(context.Background(), func() error { return boom })
	if err := u.Update(ctx, func([]byte) ([]byte, error) { return []byte("newer"), nil }); !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the step's error", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new" {
		t.Fatalf("after a failed step the file holds %q", got)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "f.json" && e.Name() != "f.json.lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
