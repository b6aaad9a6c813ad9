package store

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable"
)

// memBackend is a Backend in memory, as a database row would be.
type memBackend struct {
	name    string
	mu      sync.Mutex // the row lock
	data    []byte
	writes  int
	changed chan struct{}
}

func newMemBackend(name string) *memBackend {
	return &memBackend{name: name, changed: make(chan struct{}, 1)}
}

func (b *memBackend) Name() string { return b.name }

func (b *memBackend) Read(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.data == nil {
		return nil, nil
	}
	return append([]byte(nil), b.data...), nil
}

func (b *memBackend) Update(ctx context.Context, fn func(old []byte) ([]byte, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	next, err := fn(b.data)
	if errors.Is(err, ErrNoChange) {
		return nil
	}
	if err != nil {
		return err
	}
	b.data = append([]byte(nil), next...)
	b.writes++
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return nil
}

func (b *memBackend) Changes(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-b.changed:
				select {
				case ch <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch
}

type counter struct {
	N    int    `json:"n"`
	Name string `json:"name,omitempty"`
}

func TestBackendUpdatesReplaceAndValidate(t *testing.T) {
	be := newMemBackend("mem:counter")
	s, err := Open("ignored", &Options[counter]{Backend: be, Validate: func(c counter) error {
		if c.N < 0 {
			return errors.New("negative")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != "mem:counter" {
		t.Fatalf("Path = %q", s.Path())
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Update(ctx, func(c *counter) error { c.N++; return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	v, rev, err := s.Get()
	if err != nil || v.N != 50 {
		t.Fatalf("Get = %+v, %v; want 50", v, err)
	}
	if be.writes > 50 {
		t.Fatalf("%d writes for 50 updates", be.writes)
	}
	if _, err := s.Update(ctx, func(c *counter) error { c.N = -1; return nil }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid update: %v", err)
	}
	if _, err := s.Replace(ctx, counter{N: 7}, durable.Rev{}); !errors.Is(err, ErrConflict) {
		t.Fatalf("Replace with a stale Rev: %v", err)
	}
	rev2, err := s.Replace(ctx, counter{N: 7}, rev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Replace(ctx, counter{N: 8}, rev); !errors.Is(err, ErrConflict) {
		t.Fatalf("second Replace on the same Rev: %v", err)
	}
	if v, r, _ := s.Get(); v.N != 7 || r != rev2 {
		t.Fatalf("after Replace: %+v %v, want 7 %v", v, r, rev2)
	}
	// The bytes are the file format's.
	var raw map[string]any
	if err := json.Unmarshal(be.data, &raw); err != nil || raw["n"] != float64(7) {
		t.Fatalf("stored %q (%v)", be.data, err)
	}
}

func TestBackendMigratesAndReportsCorrupt(t *testing.T) {
	be := newMemBackend("mem:migrate")
	be.data = []byte(`{"schema":1,"count":3}`)
	s, err := Open("x", &Options[counter]{Backend: be, Schema: 2, Migrate: map[int]func(map[string]json.RawMessage) error{
		1: func(d map[string]json.RawMessage) error { d["n"] = d["count"]; delete(d, "count"); return nil },
	}})
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := s.Get()
	if err != nil || v.N != 3 {
		t.Fatalf("migrated: %+v %v", v, err)
	}
	if string(be.data) == `{"schema":1,"count":3}` {
		t.Fatal("the migration was not stored")
	}
	be.data = []byte(`{"schema":2,"n":`)
	if _, _, err := s.Get(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt document: %v", err)
	}
	if _, err := s.Update(context.Background(), func(c *counter) error { c.N = 1; return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("update of a corrupt document: %v", err)
	}
	if string(be.data) != `{"schema":2,"n":` {
		t.Fatal("a corrupt document was replaced")
	}
}

func TestBackendWatchHearsChanges(t *testing.T) {
	be := newMemBackend("mem:watch")
	s, err := Open("x", &Options[counter]{Backend: be, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := s.Watch(ctx)
	time.Sleep(20 * time.Millisecond)
	rev, err := s.Update(ctx, func(c *counter) error { c.N = 5; return nil })
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-ch:
		if got != rev {
			t.Fatalf("Watch sent %v, want %v", got, rev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not hear the change (the poll interval is an hour)")
	}
}
