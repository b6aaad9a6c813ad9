package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/store"
)

type logEntry struct {
	Name string  `json:"name"`
	Hits int     `json:"hits"`
	Note *string `json:"note"` // nil is written as null: no merge patch says that
}

type logDoc struct {
	Title   string              `json:"title"`
	Entries map[string]logEntry `json:"entries"`
	Tags    []string            `json:"tags,omitempty"`
	Owner   *string             `json:"owner"`
}

func logOpen(t *testing.T, path string, opts *store.Options[logDoc]) *store.Store[logDoc] {
	t.Helper()
	if opts == nil {
		opts = &store.Options[logDoc]{}
	}
	o := *opts
	o.Log = true
	s, err := store.Open(path, &o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// plainEncoding is what a Store in the default mode writes for v.
func plainEncoding(t *testing.T, v logDoc) []byte {
	t.Helper()
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	if err := e.Encode(&v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func randomChange(r *rand.Rand, d *logDoc) {
	k := fmt.Sprintf("k%02d", r.IntN(40))
	switch r.IntN(9) {
	case 0:
		delete(d.Entries, k)
	case 1:
		d.Title = fmt.Sprintf("title %d", r.IntN(100))
	case 2:
		if r.IntN(2) == 0 {
			d.Tags = nil
		} else {
			d.Tags = append(d.Tags, k)
		}
	case 3:
		if r.IntN(2) == 0 {
			d.Owner = nil // null in an object: a whole record
		} else {
			s := k
			d.Owner = &s
		}
	case 4:
		e := d.Entries[k]
		if e.Note == nil {
			n := "note " + k
			e.Note = &n
		} else {
			e.Note = nil
		}
		if d.Entries == nil {
			d.Entries = map[string]logEntry{}
		}
		d.Entries[k] = e
	default:
		if d.Entries == nil {
			d.Entries = map[string]logEntry{}
		}
		e := d.Entries[k]
		e.Name, e.Hits = "entry "+k, e.Hits+1
		d.Entries[k] = e
	}
}

// TestLogDifferential: random updates through two Stores in log mode (two
// processes' worth of state, each catching up with the other's patches),
// compactions now and then; after each, both read what a plain model of
// the updates holds, and after the last Close the snapshot is byte for
// byte what the default mode writes.
func TestLogDifferential(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			path := filepath.Join(testdir.New(t), "doc.json")
			// A small LogCompactSize, so that size compactions happen.
			opts := &store.Options[logDoc]{LogCompactSize: 2 << 10}
			a, b := logOpen(t, path, opts), logOpen(t, path, opts)
			r := rand.New(rand.NewPCG(seed, 1))
			var model logDoc
			ctx := context.Background()
			for i := range 300 {
				s := a
				if r.IntN(2) == 0 {
					s = b
				}
				var ops []int
				for range 1 + r.IntN(3) {
					ops = append(ops, r.IntN(1<<30))
				}
				if _, err := s.Update(ctx, func(d *logDoc) error {
					for _, op := range ops {
						randomChange(rand.New(rand.NewPCG(uint64(op), 2)), d)
					}
					return nil
				}); err != nil {
					t.Fatalf("update %d: %v", i, err)
				}
				for _, op := range ops {
					randomChange(rand.New(rand.NewPCG(uint64(op), 2)), &model)
				}
				if r.IntN(40) == 0 {
					if err := a.Compact(ctx); err != nil {
						t.Fatalf("compact: %v", err)
					}
				}
				for _, s := range []*store.Store[logDoc]{a, b} {
					got, _, err := s.Get()
					if err != nil {
						t.Fatalf("update %d: Get: %v", i, err)
					}
					if g, w := plainEncoding(t, got), plainEncoding(t, model); !bytes.Equal(g, w) {
						t.Fatalf("update %d: Get gives\n%s\nwant\n%s", i, g, w)
					}
				}
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := plainEncoding(t, model); !bytes.Equal(data, want) {
				t.Fatalf("the snapshot after Close is\n%s\nwant\n%s", data, want)
			}
			c := logOpen(t, path, nil)
			got, rev, err := c.Get()
			if err != nil || !reflect.DeepEqual(plainEncoding(t, got), data) || rev != durable.RevOf(data) {
				t.Fatalf("reopened: %v, rev %v want %v", err, rev, durable.RevOf(data))
			}
			c.Close()
		})
	}
}

func bump(k string) func(*logDoc) error {
	return func(d *logDoc) error {
		if d.Entries == nil {
			d.Entries = map[string]logEntry{}
		}
		e := d.Entries[k]
		e.Hits++
		d.Entries[k] = e
		return nil
	}
}

// TestLogHandEdit: a snapshot edited without the lock while patches are
// pending is a *LogConflictError, merged never; DiscardLog keeps the edit
// and the patches as evidence. An edit while nothing is pending is simply
// the document.
func TestLogHandEdit(t *testing.T) {
	dir := testdir.New(t)
	path := filepath.Join(dir, "doc.json")
	ctx := context.Background()
	s := logOpen(t, path, nil)
	if _, err := s.Update(ctx, bump("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing pending: a hand edit is taken as it is.
	if err := os.WriteFile(path, []byte(`{"title":"by hand","entries":{"a":{"name":"","hits":7,"note":null}},"owner":null}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s = logOpen(t, path, nil)
	if _, err := s.Update(ctx, bump("a")); err != nil {
		t.Fatal(err)
	}
	if d, _, err := s.Get(); err != nil || d.Title != "by hand" || d.Entries["a"].Hits != 8 {
		t.Fatalf("after a hand edit with nothing pending: %+v, %v", d, err)
	}
	// Pending patches, then an edit without the lock.
	before, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(`{"title":"edited again","entries":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := s.Update(ctx, bump("b"))
	var lc *store.LogConflictError
	if !errors.As(err, &lc) || !errors.Is(err, store.ErrConflict) || lc.Pending != 1 {
		t.Fatalf("update after an unlocked edit: %v, want a *LogConflictError with 1 pending", err)
	}
	if !strings.Contains(err.Error(), "DiscardLog") {
		t.Errorf("the error does not say what to do: %v", err)
	}
	if _, err := store.Open(path, &store.Options[logDoc]{Log: true}); !errors.As(err, &lc) {
		t.Fatalf("Open: %v, want a *LogConflictError", err)
	}
	if err := s.Compact(ctx); !errors.As(err, &lc) {
		t.Fatalf("Compact: %v, want a *LogConflictError", err)
	}
	// Putting the snapshot back makes the patches apply again.
	if err := os.WriteFile(path, before, 0o600); err != nil {
		t.Fatal(err)
	}
	if d, _, err := s.Get(); err != nil || d.Entries["a"].Hits != 8 {
		t.Fatalf("with the snapshot put back: %+v, %v", d, err)
	}
	// Edit again, and keep the edit.
	if err := os.WriteFile(path, []byte(`{"title":"kept","entries":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	kept, err := s.DiscardLog(ctx)
	if err != nil || kept == "" {
		t.Fatalf("DiscardLog: %q, %v", kept, err)
	}
	if of, _, ok := store.ParseDiscardedLogName(kept); !ok || of != path {
		t.Errorf("DiscardLog kept %s, which ParseDiscardedLogName does not recognise", kept)
	}
	ev, err := os.ReadFile(kept)
	if err != nil || !bytes.Contains(ev, []byte(`"hits":8`)) {
		t.Errorf("the evidence holds %s (%v), want the pending patch", ev, err)
	}
	d, _, err := s.Get()
	if err != nil || d.Title != "kept" || len(d.Entries) != 0 {
		t.Fatalf("after DiscardLog: %+v, %v", d, err)
	}
	if _, err := s.Update(ctx, bump("c")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var out logDoc
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &out); err != nil || out.Title != "kept" || out.Entries["c"].Hits != 1 {
		t.Fatalf("the snapshot: %s, %v", data, err)
	}
}

// TestLogNames: what log mode creates beside a document is recognised by
// its classifiers.
func TestLogNames(t *testing.T) {
	if of, ok := store.ParseLogName("/x/doc.json.patchlog"); !ok || of != "/x/doc.json" || !store.IsLogName("doc.json.patchlog") {
		t.Errorf("ParseLogName: %q %v", of, ok)
	}
	for _, bad := range []string{".patchlog", "doc.json", "doc.json.patchlog.x", "doc.json.patchlog.discarded.2026-01-02T03-04-05.000Z"} {
		if store.IsLogName(bad) {
			t.Errorf("IsLogName(%q) = true", bad)
		}
	}
	if !store.IsDiscardedLogName("doc.json.patchlog.discarded.2026-01-02T03-04-05.000Z-2") || store.IsDiscardedLogName("doc.json.patchlog.discarded.x") {
		t.Error("IsDiscardedLogName")
	}
}

// TestLogDefaultModeRefuses: a program that opens the document without
// Options.Log while patches are pending would read a stale file and
// overwrite the patches: Open refuses, saying what to do; once compacted,
// the default mode opens it, and log mode adopts what it wrote.
func TestLogDefaultModeRefuses(t *testing.T) {
	path := filepath.Join(testdir.New(t), "doc.json")
	ctx := context.Background()
	s := logOpen(t, path, nil)
	if _, err := s.Update(ctx, bump("a")); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open[logDoc](path, nil)
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "compact") {
		t.Fatalf("default-mode Open with a patch pending: %v", err)
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := store.Open[logDoc](path, nil)
	if err != nil {
		t.Fatalf("default-mode Open after compaction: %v", err)
	}
	if _, err := d.Update(ctx, bump("a")); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Get(); err != nil || got.Entries["a"].Hits != 2 {
		t.Fatalf("log mode after a default-mode write: %+v, %v", got, err)
	}
	// Get inside an update function would wait for itself: refused.
	_, err = s.Update(ctx, func(*logDoc) error { _, _, err := s.Get(); return err })
	if !errors.Is(err, durable.ErrReentrant) {
		t.Errorf("Get inside Update: %v, want ErrReentrant", err)
	}
	s.Close()
	if _, _, err := s.Get(); !errors.Is(err, durable.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
}

// TestLogWatch: Watch in log mode sees a change another Store (another
// process's worth of state) appended to the log.
func TestLogWatch(t *testing.T) {
	path := filepath.Join(testdir.New(t), "doc.json")
	a := logOpen(t, path, &store.Options[logDoc]{PollInterval: 5 * time.Millisecond})
	b := logOpen(t, path, nil)
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch := a.Watch(ctx)
	// Watch reads the first revision in its own goroutine: update until
	// it reports one of ours.
	revs := map[durable.Rev]bool{}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		rev, err := b.Update(ctx, bump("w"))
		if err != nil {
			t.Fatal(err)
		}
		revs[rev] = true
		select {
		case got := <-ch:
			if !revs[got] {
				t.Errorf("Watch sent %v, which no update returned", got)
			}
			return
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		t.Fatal("Watch saw nothing")
	}
}

// TestLogReentryIsRefused: in log mode an Update or Get of the document
// from inside an update function, through this Store or another of the
// same file, is refused rather than left waiting for itself; while the
// function runs, other goroutines' Gets and Updates wait and succeed.
// (The runner is named by a goid.Token, not a goroutine id: a token that
// named the wrong goroutine fails one half of this test or the other.)
func TestLogReentryIsRefused(t *testing.T) {
	path := filepath.Join(testdir.New(t), "doc.json")
	s := logOpen(t, path, nil)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for round := range 20 {
		var inner, innerGet error
		others := make(chan error, 16)
		_, err := s.Update(ctx, func(d *logDoc) error {
			ictx, icancel := context.WithTimeout(ctx, 5*time.Second)
			_, inner = s.Update(ictx, bump("inner"))
			icancel()
			// A Get that waited for itself would wait forever (it takes
			// no context): fail loudly rather than hang the run.
			stuck := time.AfterFunc(10*time.Second, func() { panic("a Get inside an update function waits for itself") })
			_, _, innerGet = s.Get()
			stuck.Stop()
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(2)
				go func() {
					defer wg.Done()
					_, _, err := s.Get()
					others <- err
				}()
				go func() {
					defer wg.Done()
					_, err := s.Update(ctx, bump("other"))
					others <- err
				}()
			}
			// Give them time to find the update running.
			time.Sleep(time.Millisecond)
			go func() { wg.Wait(); close(others) }()
			return bump("outer")(d)
		})
		if err != nil || !errors.Is(inner, durable.ErrReentrant) || !errors.Is(innerGet, durable.ErrReentrant) {
			t.Fatalf("round %d: outer %v, inner Update %v, inner Get %v", round, err, inner, innerGet)
		}
		for err := range others {
			if err != nil {
				t.Fatalf("round %d: another goroutine's call during the update: %v", round, err)
			}
		}
	}
	got, _, err := s.Get()
	if err != nil || got.Entries["outer"].Hits != 20 || got.Entries["other"].Hits != 80 || got.Entries["inner"].Hits != 0 {
		t.Fatalf("after the rounds: %+v, %v", got.Entries, err)
	}
}
