package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// Regression tests for issue 17, each the issue's own repro through Open,
// Update and Get, run with the encoder's tree at every size (where the bugs
// lived) and with the default choice of encoder.

// issueModes runs f with the tree forced and with the default threshold.
func issueModes(t *testing.T, f func(t *testing.T, tree bool)) {
	t.Run("tree", func(t *testing.T) { f(t, true) })
	t.Run("default", func(t *testing.T) { f(t, false) })
}

// issueStore opens /doc.json on a fresh in-memory filesystem.
func issueStore[T any](t *testing.T, tree bool, backups int) (*vfs.MemFS, *Store[T]) {
	t.Helper()
	m := vfs.NewMem()
	s, err := Open("/doc.json", &Options[T]{FS: m, Backups: backups})
	if err != nil {
		t.Fatal(err)
	}
	if tree {
		s.c.enc.SetTreeThreshold(0)
	}
	return m, s
}

// checkFile checks that the file is exactly encoding/json's encoding of
// want, that Get returns it, and that a fresh Open+Get reads the same.
func checkFile[T any](t *testing.T, m *vfs.MemFS, s *Store[T], want *T, step string) {
	t.Helper()
	got, err := vfs.ReadFile(m, "/doc.json")
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	if !json.Valid(got) {
		t.Fatalf("%s: the file is not valid JSON:\n%s", step, got)
	}
	exp := oracle(t, want, "  ", nil, nil)
	if !bytes.Equal(got, exp) {
		t.Fatalf("%s: the file is\n%s\nencoding/json writes\n%s", step, got, exp)
	}
	var decoded T
	if err := json.Unmarshal(exp, &decoded); err != nil {
		t.Fatal(err)
	}
	v, _, err := s.Get()
	if err != nil {
		t.Fatalf("%s: Get: %v", step, err)
	}
	if !reflect.DeepEqual(v, decoded) {
		t.Fatalf("%s: Get returns %+v, want %+v", step, v, decoded)
	}
	fresh, err := Open("/doc.json", &Options[T]{FS: m})
	if err != nil {
		t.Fatalf("%s: a fresh Open: %v", step, err)
	}
	fv, _, err := fresh.Get()
	if err != nil {
		t.Fatalf("%s: a fresh Get: %v", step, err)
	}
	if !reflect.DeepEqual(fv, decoded) {
		t.Fatalf("%s: a fresh Get returns %+v, want %+v", step, fv, decoded)
	}
}

// update runs op in an Update and on the model.
func update[T any](t *testing.T, s *Store[T], model *T, step string, op func(*T)) {
	t.Helper()
	if _, err := s.Update(context.Background(), func(d *T) error { op(d); return nil }); err != nil && !errors.Is(err, ErrNoChange) {
		t.Fatalf("%s: %v", step, err)
	}
	op(model)
}

// Issue 17.1: a map of maps, both levels at least the size from which a
// map keeps its encoding. Patching the outer map copied unchanged inner
// maps as bytes while their caches pointed into a document buffer that
// was reused two writes later; a later change to such an inner map then
// spliced from overwritten memory and the file was invalid JSON. The
// outer map is a member of the document (as in the issue: the root is
// never cached) and, as a variation, the root itself.
func TestIssue17MapOfMapsStaysValid(t *testing.T) {
	issueModes(t, func(t *testing.T, tree bool) {
		t.Run("member", func(t *testing.T) {
			m, s := issueStore[issue17MapDoc](t, tree, 1)
			var model issue17MapDoc
			mapOfMapsRepro(t, func(step string, op func(map[string]map[string]int)) {
				update(t, s, &model, step, func(d *issue17MapDoc) {
					if d.M == nil {
						d.M = map[string]map[string]int{}
					}
					op(d.M)
				})
				checkFile(t, m, s, &model, step)
			})
			checkBackup(t, m)
		})
		t.Run("root", func(t *testing.T) {
			m, s := issueStore[map[string]map[string]int](t, tree, 1)
			var model map[string]map[string]int
			mapOfMapsRepro(t, func(step string, op func(map[string]map[string]int)) {
				update(t, s, &model, step, func(d *map[string]map[string]int) {
					if *d == nil {
						*d = map[string]map[string]int{}
					}
					op(*d)
				})
				checkFile(t, m, s, &model, step)
			})
			checkBackup(t, m)
		})
	})
}

type issue17MapDoc struct {
	M    map[string]map[string]int
	Note string
}

// mapOfMapsRepro is the issue's sequence: a 40x40 map; k00.v00 set to 5,
// 1000000, 3 and 123456789 in turn; k10 to k21 touched once each; then
// every kNN.v39 set.
func mapOfMapsRepro(t *testing.T, do func(step string, op func(map[string]map[string]int))) {
	do("build", func(d map[string]map[string]int) {
		for i := range 40 {
			in := map[string]int{}
			for j := range 40 {
				in[fmt.Sprintf("v%02d", j)] = i*100 + j
			}
			d[fmt.Sprintf("k%02d", i)] = in
		}
	})
	step := 0
	next := func() string { step++; return fmt.Sprintf("step %d", step) }
	for _, x := range []int{5, 1000000, 3, 123456789} {
		do(next(), func(d map[string]map[string]int) { d["k00"]["v00"] = x })
	}
	for i := 10; i <= 21; i++ {
		do(next(), func(d map[string]map[string]int) { d[fmt.Sprintf("k%02d", i)]["v01"]++ })
	}
	for i := range 40 {
		do(next(), func(d map[string]map[string]int) { d[fmt.Sprintf("k%02d", i)]["v39"] = -7 * i })
	}
}

// checkBackup checks that the backup of the version before is valid JSON.
func checkBackup(t *testing.T, m *vfs.MemFS) {
	t.Helper()
	bak, err := vfs.ReadFile(m, "/doc.json.bak.1")
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(bak) {
		t.Fatalf("the backup is not valid JSON:\n%s", bak)
	}
}

// issue17Section is omitted while Hidden, through an IsZero method that
// reads a field encoding/json writes.
type issue17Section struct {
	Hidden bool           `json:"hidden"`
	Big    map[string]int `json:"big"`
}

func (s issue17Section) IsZero() bool { return s.Hidden }

type issue17SectionDoc struct {
	Sec  issue17Section `json:",omitzero"`
	Note string
}

// Issue 17.2: while the section was omitted its map's cache pointed into a
// buffer later overwritten by Note's bytes, which showing the section
// again then wrote as the map.
func TestIssue17OmittedSectionMapStaysValid(t *testing.T) {
	issueModes(t, func(t *testing.T, tree bool) {
		m, s := issueStore[issue17SectionDoc](t, tree, 1)
		var model issue17SectionDoc
		steps := []func(*issue17SectionDoc){
			func(d *issue17SectionDoc) {
				d.Sec.Big = map[string]int{}
				for i := range 40 {
					d.Sec.Big[fmt.Sprintf("key-%02d", i)] = i
				}
			},
			func(d *issue17SectionDoc) { d.Sec.Hidden = true },
			func(d *issue17SectionDoc) { d.Note = strings.Repeat("x", 300) },
			func(d *issue17SectionDoc) { d.Sec.Hidden = false },
			// Variations: change the map while hidden, then show it.
			func(d *issue17SectionDoc) { d.Sec.Hidden = true; d.Sec.Big["key-07"] = 7000 },
			func(d *issue17SectionDoc) { d.Note = strings.Repeat("y", 5000) },
			func(d *issue17SectionDoc) { d.Sec.Big["key-39"]++; d.Note = "" },
			func(d *issue17SectionDoc) { d.Sec.Hidden = false },
		}
		for i, op := range steps {
			name := fmt.Sprintf("step %d", i+1)
			update(t, s, &model, name, op)
			checkFile(t, m, s, &model, name)
		}
	})
}

// issue17Opt is omitted (omitzero) until set, a flag encoding/json never
// writes.
type issue17Opt struct {
	V   int `json:"v"`
	set bool
}

func (o issue17Opt) IsZero() bool { return !o.set }

type issue17Item struct {
	Name string
	O    issue17Opt `json:",omitzero"`
}

// issue17Plain is omitted while all its fields are zero, the unexported
// one too (reflect.Value.IsZero, with no IsZero method).
type issue17Plain struct {
	A    int `json:"a"`
	mark int
}

type issue17ItemsDoc struct {
	Items []issue17Item
	Top   issue17Opt             `json:",omitzero"`
	Ptr   *issue17Opt            `json:",omitzero"`
	Plain []issue17PlainHolder   `json:",omitempty"`
	ByKey map[string]issue17Item `json:",omitempty"`
	Note  string
}

type issue17PlainHolder struct {
	P issue17Plain `json:"p,omitzero"`
}

// Issue 17.3: a leaf compared on exported fields alone missed a change of
// the unexported flag its omitzero test reads, and the update was lost
// without an error.
func TestIssue17UnexportedZeroStateIsWritten(t *testing.T) {
	issueModes(t, func(t *testing.T, tree bool) {
		m, s := issueStore[issue17ItemsDoc](t, tree, 1)
		var model issue17ItemsDoc
		steps := []func(*issue17ItemsDoc){
			func(d *issue17ItemsDoc) {
				d.Items = []issue17Item{{Name: "a"}, {Name: "b"}}
				d.Plain = []issue17PlainHolder{{}, {}}
				d.Ptr = &issue17Opt{}
				d.ByKey = map[string]issue17Item{}
				for i := range 40 {
					d.ByKey[fmt.Sprint("k", i)] = issue17Item{Name: fmt.Sprint(i)}
				}
			},
			func(d *issue17ItemsDoc) { d.Items[0].O.set = true }, // the issue's repro
			func(d *issue17ItemsDoc) { d.Items[0].O.set = false },
			func(d *issue17ItemsDoc) { d.Top.set = true },
			func(d *issue17ItemsDoc) { d.Ptr.set = true },
			func(d *issue17ItemsDoc) { d.Plain[1].P.mark = 1 },
			func(d *issue17ItemsDoc) { e := d.ByKey["k7"]; e.O.set = true; d.ByKey["k7"] = e },
			func(d *issue17ItemsDoc) { d.Ptr.set = false },
		}
		for i, op := range steps {
			name := fmt.Sprintf("step %d", i+1)
			update(t, s, &model, name, op)
			got, _ := vfs.ReadFile(m, "/doc.json")
			if exp := oracle(t, &model, "  ", nil, nil); !bytes.Equal(got, exp) {
				t.Fatalf("%s: the file is\n%s\nencoding/json writes\n%s", name, got, exp)
			}
		}
	})
}

// Issue 17.4: the undo of a failed update restored only what the encoder
// compared; an unexported field set by the failed function survived, and
// the next, unrelated update published it.
func TestIssue17UndoRestoresUnexportedFields(t *testing.T) {
	issueModes(t, func(t *testing.T, tree bool) {
		m, s := issueStore[issue17ItemsDoc](t, tree, 1)
		var model issue17ItemsDoc
		update(t, s, &model, "setup", func(d *issue17ItemsDoc) {
			d.Items = []issue17Item{{Name: "a"}}
			d.Plain = []issue17PlainHolder{{}}
			d.Ptr = &issue17Opt{}
			d.ByKey = map[string]issue17Item{"k": {Name: "k"}}
		})
		aborted := []struct {
			name string
			fn   func(*issue17ItemsDoc) error
		}{
			{"error", func(d *issue17ItemsDoc) error { d.Items[0].O.set = true; return errors.New("no") }},
			{"panic", func(d *issue17ItemsDoc) error { d.Top.set = true; panic("no") }},
			{"pointee", func(d *issue17ItemsDoc) error { d.Ptr.set = true; return errors.New("no") }},
			{"plain", func(d *issue17ItemsDoc) error { d.Plain[0].P.mark = 3; return errors.New("no") }},
			{"map", func(d *issue17ItemsDoc) error {
				e := d.ByKey["k"]
				e.O.set = true
				d.ByKey["k"] = e
				return errors.New("no")
			}},
		}
		for i, a := range aborted {
			func() {
				defer func() { recover() }()
				if _, err := s.Update(context.Background(), a.fn); err == nil {
					t.Fatalf("%s: the failing update succeeded", a.name)
				}
			}()
			// The next function must see the value as it was, whole.
			name := fmt.Sprintf("after %s", a.name)
			if _, err := s.Update(context.Background(), func(d *issue17ItemsDoc) error {
				if !reflect.DeepEqual(*d, model) {
					return fmt.Errorf("the value is %+v, want %+v", *d, model)
				}
				d.Note = fmt.Sprint("unrelated ", i)
				return nil
			}); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			model.Note = fmt.Sprint("unrelated ", i)
			checkFile(t, m, s, &model, name)
		}
	})
}

// A member omitzero or omitempty leaves out is not encoded at all, as
// encoding/json does not encode it: a value it could not encode (NaN) in a
// hidden section must not fail the update.
func TestOmittedMemberIsNotEncoded(t *testing.T) {
	type rec struct {
		F float64 `json:"f"`
	}
	type doc struct {
		Sec  recSection[rec] `json:",omitzero"`
		Note string
	}
	issueModes(t, func(t *testing.T, tree bool) {
		m, s := issueStore[doc](t, tree, 1)
		var model doc
		update(t, s, &model, "hide", func(d *doc) {
			d.Sec = recSection[rec]{Hidden: true, Recs: map[string]rec{"nan": {F: math.NaN()}}}
			d.Note = "hidden"
		})
		got, _ := vfs.ReadFile(m, "/doc.json")
		if exp := oracle(t, &model, "  ", nil, nil); !bytes.Equal(got, exp) {
			t.Fatalf("the file is\n%s\nencoding/json writes\n%s", got, exp)
		}
		// Shown, it cannot be encoded: refused, nothing changes.
		if _, err := s.Update(context.Background(), func(d *doc) error { d.Sec.Hidden = false; return nil }); err == nil {
			t.Fatal("a NaN was published")
		}
		if after, _ := vfs.ReadFile(m, "/doc.json"); !bytes.Equal(got, after) {
			t.Fatal("a refused update changed the file")
		}
	})
}

// recSection is omitted while Hidden, as issue17Section, with a map of
// records.
type recSection[R any] struct {
	Hidden bool         `json:"hidden"`
	Recs   map[string]R `json:"recs,omitempty"`
}

func (s recSection[R]) IsZero() bool { return s.Hidden }

type embHidden struct {
	Shown int `json:"shown"`
}

// fzEmbPtr embeds a pointer to an unexported struct: encoding/json writes
// its fields but cannot decode them back (it cannot allocate the pointer).
type fzEmbPtr struct {
	*embHidden
	Name string
}

// What encoding/json cannot read back is refused: the store never writes
// a file that it cannot open.
func TestUnreadableEncodingIsRefused(t *testing.T) {
	m, s := issueStore[fzEmbPtr](t, false, 1)
	var model fzEmbPtr
	update(t, s, &model, "name", func(d *fzEmbPtr) { d.Name = "a" })
	before, _ := vfs.ReadFile(m, "/doc.json")
	_, err := s.Update(context.Background(), func(d *fzEmbPtr) error { d.embHidden = &embHidden{Shown: 1}; return nil })
	if err == nil || !strings.Contains(err.Error(), "decode back") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if after, _ := vfs.ReadFile(m, "/doc.json"); !bytes.Equal(before, after) {
		t.Fatal("a refused update changed the file")
	}
	if _, err := Open("/doc.json", &Options[fzEmbPtr]{FS: m}); err != nil {
		t.Fatal(err)
	}
}
