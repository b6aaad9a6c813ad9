package pg

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/store"
)

type settings struct {
	Runs  int               `json:"runs"`
	Name  string            `json:"name,omitempty"`
	Flags map[string]string `json:"flags,omitempty"`
}

func TestStoreOnARowKeepsStoreSemantics(t *testing.T) {
	db := openTest(t)
	ctx := ctxT(t)
	s, err := OpenStore[settings](db, "settings", &store.Options[settings]{
		Validate: func(v settings) error {
			if v.Runs < 0 {
				return errors.New("runs < 0")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, rev, err := s.Get(); err != nil || v.Runs != 0 || rev != (durable.Rev{}) {
		t.Fatalf("new document: %+v %v %v", v, rev, err)
	}
	// A second handle, as another machine would have.
	other := openSchema(t, testURL(t), db.Schema())
	s2, err := OpenStore[settings](other, "settings", nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := s
			if i%2 == 1 {
				st = s2
			}
			if _, err := st.Update(ctx, func(v *settings) error { v.Runs++; return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	v, rev, err := s2.Get()
	if err != nil || v.Runs != 40 {
		t.Fatalf("after 40 increments: %+v %v", v, err)
	}
	if _, err := s.Update(ctx, func(v *settings) error { v.Runs = -5; return nil }); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("invalid update: %v", err)
	}
	// Revisions are compare-and-swap across handles.
	rev2, err := s.Replace(ctx, settings{Runs: 100, Name: "x"}, rev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Replace(ctx, settings{Runs: 1}, rev); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Replace on a stale revision from another handle: %v", err)
	}
	if v, r, _ := s2.Get(); v.Runs != 100 || r != rev2 {
		t.Fatalf("Get after Replace: %+v %v (want rev %v)", v, r, rev2)
	}
	// ErrNoChange writes nothing.
	var before int64
	db.Pool().QueryRow(ctx, "SELECT revision FROM "+db.table("documents")+" WHERE name = 'settings'").Scan(&before)
	if _, err := s.Update(ctx, func(v *settings) error { return store.ErrNoChange }); err != nil {
		t.Fatal(err)
	}
	var after int64
	db.Pool().QueryRow(ctx, "SELECT revision FROM "+db.table("documents")+" WHERE name = 'settings'").Scan(&after)
	if after != before {
		t.Fatalf("ErrNoChange wrote a revision (%d -> %d)", before, after)
	}
	// An update function's error is the caller's, and nothing changes.
	boom := errors.New("boom")
	if _, err := s.Update(ctx, func(v *settings) error { v.Runs = 7; return boom }); !errors.Is(err, boom) {
		t.Fatalf("failing function: %v", err)
	}
	if v, _, _ := s.Get(); v.Runs != 100 {
		t.Fatalf("a failed update left %d", v.Runs)
	}
}

func TestStoreOnARowMigratesAndRefusesCorrupt(t *testing.T) {
	db := openTest(t)
	ctx := ctxT(t)
	if _, err := db.Pool().Exec(ctx, "INSERT INTO "+db.table("documents")+" (name, data, revision) VALUES ('cfg', $1, 1)", []byte(`{"schema":1,"count":4,"extra":true}`)); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore[settings](db, "cfg", &store.Options[settings]{Schema: 2, Migrate: map[int]func(map[string]json.RawMessage) error{
		1: func(d map[string]json.RawMessage) error { d["runs"] = d["count"]; delete(d, "count"); return nil },
	}})
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := s.Get()
	if err != nil || v.Runs != 4 {
		t.Fatalf("migrated: %+v %v", v, err)
	}
	var data []byte
	db.Pool().QueryRow(ctx, "SELECT data FROM "+db.table("documents")+" WHERE name = 'cfg'").Scan(&data)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil || m["schema"] != float64(2) || m["extra"] != true || m["runs"] != float64(4) {
		t.Fatalf("stored after migration: %s (%v)", data, err)
	}
	db.Pool().Exec(ctx, "UPDATE "+db.table("documents")+" SET data = $1 WHERE name = 'cfg'", []byte(`{"runs": tr`))
	if _, _, err := s.Get(); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("corrupt row: %v", err)
	}
	if _, err := s.Update(ctx, func(v *settings) error { v.Runs = 1; return nil }); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("update of a corrupt row: %v", err)
	}
	db.Pool().QueryRow(ctx, "SELECT data FROM "+db.table("documents")+" WHERE name = 'cfg'").Scan(&data)
	if string(data) != `{"runs": tr` {
		t.Fatalf("a corrupt row was overwritten: %s", data)
	}
}

func TestStoreWatchHearsOtherMachines(t *testing.T) {
	db := openTest(t)
	other := openSchema(t, testURL(t), db.Schema())
	s, err := OpenStore[settings](db, "w", &store.Options[settings]{PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := OpenStore[settings](other, "w", nil)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	ch := s.Watch(ctx)
	time.Sleep(300 * time.Millisecond) // the listener connects
	rev, err := s2.Update(ctx, func(v *settings) error { v.Runs = 9; return nil })
	if err != nil {
		t.Fatal(err)
	}
	expectWatch(t, ch, rev, "Watch did not hear another handle's update (polling is hourly: NOTIFY must carry it)")
	cancel()
	for range ch {
	}
}

func TestStoreGetContextEndsOnTime(t *testing.T) {
	db := openTest(t)
	s, err := OpenStore[settings](db, "slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Hold the document's transaction lock from another session, as a
	// stuck updater would: Update must give up when its context ends.
	ctx := ctxT(t)
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", keyDocument, db.name+":slow"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Update(short, func(v *settings) error { v.Runs++; return nil })
	if took := time.Since(start); err == nil || took > 3*time.Second {
		t.Fatalf("Update behind a stuck lock: %v after %v", err, took)
	}
}

// Names at PostgreSQL's limits: a 63-byte schema (the NOTIFY channel adds
// a prefix) and a document name longer than a NOTIFY payload.
func TestLongNamesStillNotify(t *testing.T) {
	u := testURL(t)
	schema := testSchema(t)
	schema = schema + strings.Repeat("x", 63-len(schema))
	t.Cleanup(func() {
		if db, err := Open(context.Background(), u, &Options{Schema: schema}); err == nil {
			db.Pool().Exec(context.Background(), "DROP SCHEMA "+db.schema+" CASCADE")
			db.Close()
		}
	})
	db := openSchema(t, u, schema)
	name := strings.Repeat("n", 9000)
	s, err := OpenStore[settings](db, name, &store.Options[settings]{PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	ch := s.Watch(ctx)
	time.Sleep(300 * time.Millisecond)
	s2, _ := OpenStore[settings](openSchema(t, u, schema), name, nil)
	rev, err := s2.Update(ctx, func(v *settings) error { v.Runs = 1; return nil })
	if err != nil {
		t.Fatal(err)
	}
	expectWatch(t, ch, rev, "no notification for a long name")
	q, _ := db.Queue(name, nil)
	if _, err := q.Push(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
}
