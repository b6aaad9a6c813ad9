package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/durable-go/durable/internal/testdir"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"
)

// Log mode with several handles (processes) on one document, each with
// its own keys ("h<handle>k<step>"): their flushes are shared after the
// log's lock is let go (journal.WithLockShared), which needs the lock file
// that holds the marks. Crashed after every filesystem call, every state
// holds, for each handle, a prefix of its updates with every acknowledged
// one, and every key an update saw before it returned, also one that
// changed nothing: what a caller was told cannot be taken back.
func TestLogCrashSharedHandles(t *testing.T) {
	m := logCrashBase(t)
	lf, err := m.OpenFile(store.LogName(logCrashPath)+"/journal.lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	lf.Close()
	m.SyncAll()
	const handles, steps = 3, 5
	var mu sync.Mutex
	acked := map[string]bool{}
	states, failures := 0, 0
	check := func(what string) {
		mu.Lock()
		want := make([]string, 0, len(acked))
		for k := range acked {
			want = append(want, k)
		}
		mu.Unlock()
		sts, _ := crashtest.States(m, 3)
		for _, st := range sts {
			err := logSharedCheck(st.FS, want, handles)
			mu.Lock()
			states++
			if err != nil {
				failures++
				if failures <= 3 {
					t.Errorf("crash at %s, %v: %v", what, st, err)
				}
			}
			mu.Unlock()
		}
	}
	var step sync.Mutex
	n := 0
	m.SetHook(func(op vfs.Op, name string) {
		step.Lock()
		n++
		what := fmt.Sprintf("step %d (%v %s)", n, op, name)
		step.Unlock()
		check(what)
	})
	var wg sync.WaitGroup
	for h := range handles {
		s, err := store.Open(logCrashPath, &store.Options[logCrashDoc]{FS: m, Log: true, LogCompactSize: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		wg.Go(func() {
			for k := range steps {
				key := fmt.Sprintf("h%dk%d", h, k)
				var seen []string
				_, err := s.Update(context.Background(), func(d *logCrashDoc) error {
					seen = seen[:0]
					for k := range d.U {
						seen = append(seen, k)
					}
					if k == 2 {
						return nil // a reader: it changes nothing
					}
					if d.U == nil {
						d.U = map[string]int{}
					}
					d.U[key] = k
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if k != 2 {
					acked[key] = true
				}
				for _, s := range seen {
					acked[s] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	m.SetHook(nil)
	check("the end")
	if failures > 0 {
		t.Errorf("%d of %d crash states break the invariant", failures, states)
	}
	t.Logf("%d steps, %d crash states checked", n, states)
}

// logSharedCheck opens fsys and checks the document holds every key in
// want, and of each handle's keys a prefix (the reader's step excepted).
func logSharedCheck(fsys vfs.FS, want []string, handles int) error {
	s, err := store.Open(logCrashPath, &store.Options[logCrashDoc]{FS: fsys, Log: true})
	if err != nil {
		return fmt.Errorf("Open: %w", err)
	}
	defer s.Close()
	d, _, err := s.Get()
	if err != nil {
		return fmt.Errorf("Get: %w", err)
	}
	if d.Base != 3 {
		return fmt.Errorf("base is %d, want 3", d.Base)
	}
	for _, k := range want {
		if _, ok := d.U[k]; !ok {
			return fmt.Errorf("%s was acknowledged or seen, but the document %v lacks it", k, d.U)
		}
	}
	for h := range handles {
		gap := false
		for k := range 5 {
			if k == 2 {
				continue
			}
			_, ok := d.U[fmt.Sprintf("h%dk%d", h, k)]
			if ok && gap {
				return fmt.Errorf("handle %d's updates are no prefix: %v", h, d.U)
			}
			gap = gap || !ok
		}
	}
	return nil
}

// TestLogHandlesSerial: handles (processes' worth of state) updating one
// document at once, on the real filesystem, each catching up with the
// others' patches (member by member: PatchMembers) at its turn, with Gets
// (which catch up without the lock) between, and compactions. Every
// update counts one more on a shared entry: the counts the updates saw
// must be 0, 1, 2, ... each once, and the document must hold every
// handle's own count: no update may build on a state that missed one
// before it.
func TestLogHandlesSerial(t *testing.T) {
	path := filepath.Join(testdir.New(t), "doc.json")
	const handles, each = 4, 120
	ss := make([]*store.Store[benchDoc], handles)
	for h := range ss {
		s, err := store.Open(path, &store.Options[benchDoc]{Log: true, LogCompactSize: 4 << 10})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ss[h] = s
	}
	var mu sync.Mutex
	seen := map[int]int{}
	var wg sync.WaitGroup
	for h, s := range ss {
		wg.Go(func() {
			for i := range each {
				var saw int
				_, err := s.Update(context.Background(), func(d *benchDoc) error {
					if d.Entries == nil {
						d.Entries = map[string]benchEntry{}
					}
					e := d.Entries["count"]
					saw = e.Hits
					e.Hits++
					d.Entries["count"] = e
					own := d.Entries[fmt.Sprintf("h%d", h)]
					own.Hits++
					d.Entries[fmt.Sprintf("h%d", h)] = own
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[saw]++
				mu.Unlock()
				if i%17 == h {
					if _, _, err := s.Get(); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for n := range handles * each {
		if seen[n] != 1 {
			t.Fatalf("%d updates saw the count at %d (want 1 each, from 0 to %d)", seen[n], n, handles*each-1)
		}
	}
	for h, s := range ss {
		d, _, err := s.Get()
		if err != nil {
			t.Fatal(err)
		}
		if d.Entries["count"].Hits != handles*each {
			t.Fatalf("handle %d reads the count as %d, want %d", h, d.Entries["count"].Hits, handles*each)
		}
		for o := range handles {
			if got := d.Entries[fmt.Sprintf("h%d", o)].Hits; got != each {
				t.Fatalf("handle %d reads handle %d's count as %d, want %d", h, o, got, each)
			}
		}
	}
}
