package jsonenc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	jt "github.com/durable-go/durable/internal/jsonenc/jsonenctest"
)

// harness drives a Codec as the store does, one update at a time: save
// for the undo, run the function, sync, and undo if either failed.
type harness[T any] struct {
	t    *testing.T
	c    *Codec
	doc  T
	v    reflect.Value
	tree *Tree
}

func newHarness[T any](t *testing.T, indent string, minTree int) *harness[T] {
	h := &harness[T]{t: t, c: New(reflect.TypeFor[T](), indent)}
	h.c.SetTreeThreshold(minTree)
	h.v = reflect.ValueOf(&h.doc).Elem()
	tree, _, err := h.c.Sync(nil, h.v)
	if err != nil {
		t.Fatal(err)
	}
	h.tree = tree
	return h
}

var errNoChange = errors.New("no change")

func (h *harness[T]) Update(fn func(*T) error) (err error) {
	undo := h.c.SaveForUndo(h.tree, h.v)
	defer func() {
		if err != nil {
			if uerr := undo(); uerr != nil {
				err = uerr
			}
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			if uerr := undo(); uerr != nil {
				panic(uerr)
			}
			panic(p)
		}
	}()
	if err := fn(&h.doc); err != nil {
		return err
	}
	tree, changed, err := h.c.Sync(h.tree, h.v)
	if err != nil {
		return err
	}
	h.tree = tree
	if !changed {
		return errNoChange
	}
	return nil
}

// document is what the codec writes for the value as last synced.
func (h *harness[T]) document() []byte {
	h.t.Helper()
	b, err := h.c.Append(nil, h.tree, nil, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// oracle is encoding/json's encoding of v (a pointer), as the codec must
// write it.
func oracle(t *testing.T, v any, indent string) []byte {
	t.Helper()
	b, err := jt.Encoding(v, indent)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	return b
}

// updateLikeModel runs op in an update, refused afterwards when fail, and
// on the model when it was not, then checks that the document is what
// encoding/json makes of the model (from step 1 on: step 0 sets it up).
func updateLikeModel[T any](t *testing.T, s *harness[T], model *T, step int, fail bool, op func(*T)) {
	t.Helper()
	err := s.Update(func(d *T) error {
		op(d)
		if fail {
			return errors.New("refused")
		}
		return nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	if fail != (err != nil) {
		t.Fatalf("step %d: err = %v", step, err)
	}
	if !fail {
		op(model)
	}
	if want := oracle(t, model, s.c.indent); step > 0 && !bytes.Equal(s.document(), want) {
		t.Fatalf("step %d: wrote\n%s\nwant\n%s", step, s.document(), want)
	}
}

// Defence in depth: should the tree ever assemble invalid JSON, Append
// refuses it (ErrInvalidDocument) rather than return it, and the next
// Append writes the map from its members again. The test damages a large
// map's cache on purpose.
func TestInvalidDocumentIsNeverReturned(t *testing.T) {
	type doc struct {
		M    map[string]map[string]int
		Note string
	}
	s := newHarness[doc](t, "  ", 0)
	if err := s.Update(func(d *doc) error {
		d.M = map[string]map[string]int{}
		for i := range 40 {
			d.M[fmt.Sprintf("k%02d", i)] = map[string]int{fmt.Sprintf("v%02d", i): i}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.document()               // the map keeps its encoding from here
	mc := s.tree.kids[0].cache // M's encoding
	if mc == nil {
		t.Fatal("the map keeps no encoding: the test damages nothing")
	}
	for _, blk := range mc.blocks {
		for i := range blk.enc {
			if blk.enc[i] == ':' {
				blk.enc[i] = '#'
			}
		}
	}
	if err := s.Update(func(d *doc) error { d.M["k05"]["v05"] = -1; return nil }); err != nil {
		t.Fatal(err)
	}
	if out, err := s.c.Append(nil, s.tree, nil, nil); !errors.Is(err, ErrInvalidDocument) {
		t.Fatalf("Append = %q, %v; want ErrInvalidDocument", out, err)
	}
	// The cache is dropped: the map is written from its members again.
	if got, want := s.document(), oracle(t, &s.doc, "  "); !bytes.Equal(got, want) {
		t.Fatalf("after a refused document, wrote\n%s\nwant\n%s", got, want)
	}
}

// A struct with an embedded field is a leaf: encoding/json's rules for
// embedding (promotion, dominance) are not modelled by the plan.
func TestEmbeddedRootIsLeaf(t *testing.T) {
	type Base struct {
		ID   string `json:"id"`
		Kind string `json:"kind,omitempty"`
	}
	type embDoc struct {
		Base
		Name string `json:"name"`
	}
	if planFor(reflect.TypeFor[embDoc]()) != nil {
		t.Fatal("a struct with an embedded field got an object plan")
	}
}

// TestCodecFlatMapWalkOrder drives the comparison of a map of flat records
// (compared against copies kept in the map's walk order) through updates,
// failed updates, and a churn that deletes and re-adds keys in one update,
// which moves them in Go's map and so changes the walk order.
func TestCodecFlatMapWalkOrder(t *testing.T) {
	type rec struct {
		N int    `json:"n"`
		S string `json:"s,omitempty"`
	}
	type doc struct {
		M map[string]rec `json:"m"`
		Z int            `json:"z"`
	}
	s := newHarness[doc](t, "  ", 0) // the tree at every size
	model := doc{M: map[string]rec{}}
	for i := range 300 {
		model.M[fmt.Sprint("k", i)] = rec{N: i}
	}
	usedOrder := false
	failing := rand.New(rand.NewPCG(5, 6))
	for step := range 400 {
		op := func(d *doc) {
			r := rand.New(rand.NewPCG(uint64(step), 11))
			if step == 0 {
				d.M = maps.Clone(model.M)
				return
			}
			switch x := r.IntN(20); {
			case x == 0: // churn: the same keys, moved
				for i := range 100 {
					k := fmt.Sprint("k", (step+i*3)%300)
					e, ok := d.M[k]
					delete(d.M, k)
					if ok {
						e.N++
						d.M[k] = e
					}
				}
			case x == 1:
				delete(d.M, fmt.Sprint("k", r.IntN(300)))
			case x == 2:
				d.M[fmt.Sprint("k", r.IntN(300))] = rec{N: -1, S: "new"}
			default:
				for range 1 + r.IntN(3) {
					k := fmt.Sprint("k", r.IntN(300))
					if e, ok := d.M[k]; ok {
						// Few values, so that members often change back
						// to what their copies held before.
						e.N = r.IntN(3)
						e.S = strings.Repeat("s", r.IntN(2))
						d.M[k] = e
					}
				}
			}
			d.Z = step
		}
		updateLikeModel(t, s, &model, step, step > 0 && failing.IntN(7) == 0, op)
		if s.tree != nil && !s.tree.whole && s.tree.kids[0].valBase != nil {
			usedOrder = true
		}
	}
	if !usedOrder {
		t.Error("the comparison never used the copies kept in walk order")
	}
}

// A map assignment to an existing string key stores the caller's string
// (Go updates the key). The walk must take that string as its guess for
// the next walk, or every later walk compares the key's bytes where one
// pointer comparison would do; the test checks the guesses themselves.
func TestCodecWalkAdoptsAssignedKeys(t *testing.T) {
	// The walk's own test: the table copy (maptable.go) spares the walk
	// where it can.
	defer setTablePeek(false)()
	c := New(reflect.TypeFor[benchDoc](), "  ")
	c.SetTreeThreshold(0)
	doc := newBenchDoc(200)
	v := reflect.ValueOf(&doc).Elem()
	root, _, err := c.Sync(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the first walk records the order, the second uses it
		if root, _, err = c.Sync(root, v); err != nil {
			t.Fatal(err)
		}
	}
	m := root.kids[1] // Entries
	if m.index == nil || len(m.index.okeys) != 200 {
		t.Fatalf("no walk order recorded")
	}
	// Store every key again under a string with the same bytes and a new
	// address, changing one value so that the update is real.
	for k, e := range maps.Clone(doc.Entries) {
		if k == benchKey(7) {
			e.Hits++
		}
		doc.Entries[strings.Clone(k)] = e
	}
	if root, _, err = c.Sync(root, v); err != nil {
		t.Fatal(err)
	}
	held := map[string]*byte{}
	for k := range doc.Entries {
		held[k] = unsafe.StringData(k)
	}
	stale := 0
	for _, k := range m.index.okeys {
		if unsafe.StringData(k) != held[k] {
			stale++
		}
	}
	if stale > 0 {
		t.Errorf("%d of 200 walk guesses still hold a string the map replaced", stale)
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&doc); err != nil {
		t.Fatal(err)
	}
	got, err := c.Append(nil, root, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(want.Bytes()), bytes.TrimSpace(got)) {
		t.Error("the document differs from encoding/json's")
	}
}
