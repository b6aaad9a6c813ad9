package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/store"
)

type memEntry struct {
	Name  string  `json:"name"`
	Hits  int     `json:"hits"`
	Score float64 `json:"score"`
}

type memDoc struct {
	Title   string              `json:"title"`
	Entries map[string]memEntry `json:"entries"`
}

func memEncoding(t *testing.T, v memDoc) []byte {
	t.Helper()
	b, err := json.MarshalIndent(&v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var errMemRefused = errors.New("refused")

// TestUpdateMemberDifferential: random work on two documents, one changed
// through UpdateMember (in log mode, with a second Store of the same file
// making other changes with Update, as another process would), the other
// through Update alone (the plain path, in the default mode). Member
// changes that fail (an error, a value encoding/json refuses, a panic)
// are among them. After each step every Store reads what a model holds,
// and both calls returned alike; after Close, both files are the same
// bytes, and the log-mode one reads back.
func TestUpdateMemberDifferential(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			dir := testdir.New(t)
			lpath, ppath := filepath.Join(dir, "log.json"), filepath.Join(dir, "plain.json")
			lopts := &store.Options[memDoc]{Log: true, LogCompactSize: 4 << 10}
			a, err := store.Open(lpath, lopts)
			if err != nil {
				t.Fatal(err)
			}
			a2, err := store.Open(lpath, lopts)
			if err != nil {
				t.Fatal(err)
			}
			p, err := store.Open(ppath, &store.Options[memDoc]{})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			seedDoc := func(d *memDoc) error {
				d.Entries = map[string]memEntry{}
				for i := range 300 {
					d.Entries[fmt.Sprintf("k%04d", i)] = memEntry{Name: fmt.Sprint("entry ", i)}
				}
				return nil
			}
			model := memDoc{}
			seedDoc(&model)
			for _, s := range []*store.Store[memDoc]{a, p} {
				if _, err := s.Update(ctx, seedDoc); err != nil {
					t.Fatal(err)
				}
			}
			r := rand.New(rand.NewPCG(seed, 3))
			for step := range 200 {
				k := fmt.Sprintf("k%04d", r.IntN(330)) // some not there yet
				switch op := r.IntN(10); {
				case op < 7:
					fail := r.IntN(10)
					delta := 1 + r.IntN(3)
					change := func(e *memEntry) error {
						e.Hits += delta
						switch fail {
						case 0:
							return errMemRefused
						case 1:
							e.Score = math.NaN()
						case 2:
							panic("member panic")
						}
						return nil
					}
					errA := memberCall(ctx, a, k, change)
					errP := panicCall(func() error {
						_, err := p.Update(ctx, func(d *memDoc) error {
							e := d.Entries[k]
							if err := change(&e); err != nil {
								return err
							}
							d.Entries[k] = e
							return nil
						})
						return err
					})
					if (errA == nil) != (errP == nil) || errors.Is(errA, store.ErrInvalid) != errors.Is(errP, store.ErrInvalid) ||
						errors.Is(errA, errMemRefused) != errors.Is(errP, errMemRefused) {
						t.Fatalf("step %d: UpdateMember returned %v, Update %v", step, errA, errP)
					}
					if errA == nil {
						e := model.Entries[k]
						e.Hits += delta
						model.Entries[k] = e
					}
				case op < 9: // another change, through the other Store
					d := r.IntN(2) == 0
					fn := func(doc *memDoc) error {
						if d {
							delete(doc.Entries, k)
						} else {
							doc.Title = fmt.Sprint("title ", step)
							e := doc.Entries[k]
							e.Name = fmt.Sprint("renamed ", step)
							doc.Entries[k] = e
						}
						return nil
					}
					for _, s := range []*store.Store[memDoc]{a2, p} {
						if _, err := s.Update(ctx, fn); err != nil {
							t.Fatal(err)
						}
					}
					fn(&model)
				default:
					if err := a2.Compact(ctx); err != nil {
						t.Fatal(err)
					}
				}
				want := memEncoding(t, model)
				for i, s := range []*store.Store[memDoc]{a, a2, p} {
					got, _, err := s.Get()
					if err != nil {
						t.Fatal(err)
					}
					if g := memEncoding(t, got); !bytes.Equal(g, want) {
						t.Fatalf("step %d: Store %d reads\n%.300s\nwant\n%.300s", step, i, g, want)
					}
				}
			}
			for _, s := range []*store.Store[memDoc]{a, a2, p} {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			ld, _ := os.ReadFile(lpath)
			pd, _ := os.ReadFile(ppath)
			if !bytes.Equal(ld, pd) {
				t.Fatalf("after Close the log-mode file is\n%.300s\nthe plain one\n%.300s", ld, pd)
			}
		})
	}
}

// memberCall is UpdateMember with its panic caught, as an error.
func memberCall(ctx context.Context, s *store.Store[memDoc], k string, fn func(*memEntry) error) error {
	return panicCall(func() error {
		_, err := store.UpdateMember(ctx, s, "entries", k, fn)
		return err
	})
}

func panicCall(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn()
}

// Concurrent UpdateMembers and Updates of one Store batch together: none
// is lost.
func TestUpdateMemberConcurrent(t *testing.T) {
	path := filepath.Join(testdir.New(t), "doc.json")
	s, err := store.Open(path, &store.Options[memDoc]{Log: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	keys := 500
	if _, err := s.Update(ctx, func(d *memDoc) error {
		d.Entries = map[string]memEntry{}
		for i := range keys {
			d.Entries[fmt.Sprint(i)] = memEntry{}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 100 {
				k := fmt.Sprint((g*131 + i*7) % keys)
				var err error
				if g%3 == 0 {
					_, err = s.Update(ctx, func(d *memDoc) error {
						e := d.Entries[k]
						e.Hits++
						d.Entries[k] = e
						return nil
					})
				} else {
					_, err = store.UpdateMember(ctx, s, "entries", k, func(e *memEntry) error { e.Hits++; return nil })
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, reopen := range []bool{false, true} {
		r := s
		if reopen {
			var err error
			if r, err = store.Open(path, &store.Options[memDoc]{Log: true}); err != nil {
				t.Fatal(err)
			}
			defer r.Close()
		}
		d, _, err := r.Get()
		if err != nil {
			t.Fatal(err)
		}
		sum := 0
		for _, e := range d.Entries {
			sum += e.Hits
		}
		if sum != 600 {
			t.Fatalf("reopened %v: %d hits counted, want 600", reopen, sum)
		}
	}
}

// UpdateMember refuses a field that is not there or holds something else,
// and with Options.Validate it takes Update's path, validated.
func TestUpdateMemberFieldAndValidate(t *testing.T) {
	dir := testdir.New(t)
	ctx := context.Background()
	s, err := store.Open(filepath.Join(dir, "v.json"), &store.Options[memDoc]{Log: true, Validate: func(d memDoc) error {
		for _, e := range d.Entries {
			if e.Hits > 2 {
				return errors.New("too many hits")
			}
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bumpA := func(e *memEntry) error { e.Hits++; return nil }
	for _, bad := range []string{"nope", "title", "Entries"} {
		var pe *fs.PathError
		if _, err := store.UpdateMember(ctx, s, bad, "a", bumpA); err == nil {
			t.Errorf("UpdateMember of field %q succeeded", bad)
		} else if !errors.As(err, &pe) || pe.Path != s.Path() {
			t.Errorf("UpdateMember of field %q: %v, want an error with the store's path", bad, err)
		}
	}
	if _, err := store.UpdateMember(ctx, s, "entries", "a", func(*int) error { return nil }); err == nil {
		t.Error("UpdateMember with the wrong member type succeeded")
	}
	for i := range 3 {
		_, err := store.UpdateMember(ctx, s, "entries", "a", bumpA)
		if (err != nil) != (i == 2) || i == 2 && !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	d, _, err := s.Get()
	if err != nil || d.Entries["a"].Hits != 2 {
		t.Fatalf("Get: %+v, %v", d.Entries, err)
	}
}

// BenchmarkLogMember is BenchmarkLogField's one-field update in log mode
// through UpdateMember, warm and with the caches cold (as
// BenchmarkLogFieldCold makes them), beside Update.
func BenchmarkLogMember(b *testing.B) {
	junk := make([]byte, 32<<20)
	for _, keys := range []int{10, 1000, 10000} {
		for _, cold := range []bool{false, true} {
			for _, member := range []bool{true, false} {
				benchLogMember(b, junk, keys, cold, member)
			}
		}
	}
}

func benchLogMember(b *testing.B, junk []byte, keys int, cold, member bool) {
	b.Run(fmt.Sprintf("keys=%d/cold=%v/member=%v", keys, cold, member), func(b *testing.B) {
		s := openFieldDoc(b, keys, true)
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			if cold {
				b.StopTimer()
				for j := 0; j < len(junk); j += 64 {
					junk[j]++
				}
				b.StartTimer()
			}
			if !member {
				bumpField(b, s, keys, i)
				continue
			}
			k := fmt.Sprintf("key-%05d", i*7919%keys)
			if _, err := store.UpdateMember(ctx, s, "entries", k, func(e *benchEntry) error { e.Hits++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func ExampleUpdateMember() {
	type Counter struct {
		Hits int    `json:"hits"`
		Last string `json:"last"`
	}
	type Stats struct {
		Pages map[string]Counter `json:"pages"`
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	s, err := store.Open(filepath.Join(dir, "stats.json"), &store.Options[Stats]{Log: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	for _, page := range []string{"/", "/about", "/"} {
		// Only this page's counter changes, whatever the size of the map.
		if _, err := store.UpdateMember(context.Background(), s, "pages", page, func(c *Counter) error {
			c.Hits++
			c.Last = "today"
			return nil
		}); err != nil {
			fmt.Println(err)
			return
		}
	}
	st, _, _ := s.Get()
	fmt.Println(st.Pages["/"].Hits, st.Pages["/about"].Hits)
	// Output: 2 1
}
