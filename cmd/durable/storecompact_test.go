package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/store"
)

// TestStoreCompactCLI runs the built binary on a document kept in log
// mode: store get and set go through the patch log, compact folds it into
// the file, an edit made without the lock while patches are pending makes
// compact fail with the conflict code and say what to do, compact
// --discard keeps the edit and the patches as evidence, and edit compacts
// before and after.
func TestStoreCompactCLI(t *testing.T) {
	dir := testdir.New(t)
	file := filepath.Join(dir, "state.json")
	type doc struct {
		N    int    `json:"n"`
		Name string `json:"name,omitempty"`
	}
	s, err := store.Open(file, &store.Options[doc]{Log: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.Update(ctx, func(d *doc) error { d.N = i + 1; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// Pending patches: the file still holds the first snapshot.
	if data, _ := os.ReadFile(file); strings.Contains(string(data), `"n": 3`) {
		t.Fatalf("the snapshot already holds the patches: %s", data)
	}
	if r := runBinary(t, dir, nil, "store", "get", "state.json", "n"); r.code != exitOK || strings.TrimSpace(r.stdout) != "3" {
		t.Fatalf("store get through the log: %v", r)
	}
	if r := runBinary(t, dir, nil, "store", "set", "state.json", "name", `"cli"`); r.code != exitOK {
		t.Fatalf("store set through the log: %v", r)
	}
	r := runBinary(t, dir, nil, "store", "compact", "--json", "state.json")
	var out map[string]any
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &out) != nil || out["compacted"] != true || out["rev"] == "" {
		t.Fatalf("store compact --json: %v", r)
	}
	if m := readJSON(t, file); m["n"] != 3.0 || m["name"] != "cli" {
		t.Fatalf("after compact the file holds %v", m)
	}
	// A patch pending, then an edit without the lock.
	if _, err := s.Update(ctx, func(d *doc) error { d.N = 4; return nil }); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, []byte(`{"n":100}`), 0o600)
	r = runBinary(t, dir, nil, "store", "compact", "state.json")
	if r.code != exitConflict || !strings.Contains(r.stderr, "--discard") {
		t.Fatalf("compact after an unlocked edit: want exit %d and the way out\n%v", exitConflict, r)
	}
	if data, _ := os.ReadFile(file); string(data) != `{"n":100}` {
		t.Fatalf("a refused compact changed the file: %s", data)
	}
	r = runBinary(t, dir, nil, "store", "compact", "--discard", "state.json")
	if r.code != exitOK || !strings.Contains(r.stdout, "set aside in") {
		t.Fatalf("compact --discard: %v", r)
	}
	kept, _ := filepath.Glob(file + ".patchlog.discarded.*")
	if len(kept) != 1 || !store.IsDiscardedLogName(kept[0]) {
		t.Fatalf("evidence: %v", kept)
	}
	if ev, _ := os.ReadFile(kept[0]); !strings.Contains(string(ev), `"n":4`) {
		t.Errorf("the evidence does not hold the pending patch: %s", ev)
	}
	if m := readJSON(t, file); m["n"] != 100.0 {
		t.Fatalf("after --discard the file holds %v", m)
	}
	// edit: the editor sees the pending patch, and the file holds the edit.
	if _, err := s.Update(ctx, func(d *doc) error { d.N = 101; return nil }); err != nil {
		t.Fatal(err)
	}
	edit := exec.Command(durableBinary(t), "edit", "state.json")
	edit.Dir = dir
	edit.Env = append(os.Environ(), "VISUAL=", "EDITOR=sed -i s/101/102/")
	if out, err := edit.CombinedOutput(); err != nil {
		t.Fatalf("edit: %v\n%s", err, out)
	}
	if m := readJSON(t, file); m["n"] != 102.0 {
		t.Fatalf("after edit the file holds %v, want the edit of the pending patch", m)
	}
	if d, _, err := s.Get(); err != nil || d.N != 102 {
		t.Fatalf("the store after the edit: %+v, %v", d, err)
	}
	s.Close()
	// No log: nothing to do, and none is made.
	os.WriteFile(filepath.Join(dir, "plain.json"), []byte(`{}`), 0o600)
	if r := runBinary(t, dir, nil, "store", "compact", "plain.json"); r.code != exitOK || !strings.Contains(r.stdout, "nothing to compact") {
		t.Fatalf("compact without a log: %v", r)
	}
	if _, err := os.Stat(store.LogName(filepath.Join(dir, "plain.json"))); err == nil {
		t.Error("compact made a log for a plain document")
	}
}
