package jsonenc

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

type memRec struct {
	Name string  `json:"name"`
	N    int64   `json:"n"`
	F    float64 `json:"f"`
	On   bool    `json:"on,omitempty"`
}

type memDoc struct {
	Title   string            `json:"title"`
	Entries map[string]memRec `json:"entries"`
	Tags    map[string]string `json:"tags,omitempty"`
}

// memberSide is one of the two documents of the differential test: its
// value, its tree, and the shape taken before the step.
type memberSide struct {
	doc   memDoc
	v     reflect.Value
	tree  *Tree
	shape Shape
}

// runMemberDiff drives SetMember against the plain path, Sync after the
// same change made in place, with the choices next(n) in [0, n) makes:
// member changes (which SetMember must take when the key is there),
// failing ones (an error from the function, a value encoding/json
// refuses), and every other kind of change, plain on both sides, between
// them. After each step both trees must write encoding/json's bytes, both
// merge patches must be equal, and turn the last document into this one.
// It returns how many members SetMember changed.
func runMemberDiff(t *testing.T, next func(n int) int, steps int) (set int) {
	c := New(reflect.TypeFor[memDoc](), "  ")
	c.SetTreeThreshold(0)
	var a, b memberSide
	// The keys are the same strings throughout, so that a member set back
	// to what it held is the same memory (see TestSetMemberThenBackByHand).
	names := make([]string, 48)
	for i := range names {
		names[i] = fmt.Sprintf("k%02d", i)
	}
	for _, s := range []*memberSide{&a, &b} {
		s.doc.Entries = map[string]memRec{}
		for i := range 40 {
			s.doc.Entries[names[i]] = memRec{Name: fmt.Sprint("entry ", i), N: int64(i)}
		}
		s.v = reflect.ValueOf(&s.doc).Elem()
		tree, _, err := c.Sync(nil, s.v)
		if err != nil {
			t.Fatal(err)
		}
		s.tree = tree
	}
	key := func() string { return names[next(len(names))] }
	var lastK string // the member SetMember last changed, and what it held
	var lastOld memRec
	prev, _ := json.Marshal(&a.doc)
	errRefused := errors.New("refused")
	for step := range steps {
		a.shape, b.shape = c.Shape(a.tree), c.Shape(b.tree)
		k := key()
		op := next(10)
		switch {
		case op < 6: // one member, through SetMember on a, by hand on b
			fail := next(8)
			change := func(r *memRec) {
				r.N += int64(next(3))
				if next(2) == 0 {
					r.Name = fmt.Sprint("name ", next(5))
				}
				r.On = next(2) == 0
				if fail == 1 {
					r.F = math.NaN() // encoding/json refuses it
				}
			}
			old := a.doc.Entries[k]
			tree, changed, handled, err := c.SetMember(a.tree, a.v, 1, reflect.ValueOf(k), func(e reflect.Value) error {
				change(e.Addr().Interface().(*memRec))
				if fail == 0 {
					return errRefused
				}
				return nil
			})
			_, in := b.doc.Entries[k]
			if handled != in {
				t.Fatalf("step %d: SetMember of %q handled=%v, the map holds it: %v", step, k, handled, in)
			}
			if !handled {
				continue
			}
			switch {
			case fail == 0:
				if !errors.Is(err, errRefused) || changed {
					t.Fatalf("step %d: the function's error came back as %v (changed %v)", step, err, changed)
				}
			case fail == 1:
				if err == nil {
					t.Fatalf("step %d: a NaN member encoded", step)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				a.tree = tree
				if changed {
					set++
					lastK, lastOld = k, old
				}
			}
			if fail < 2 && (a.tree != tree || changed || a.doc.Entries[k] != b.doc.Entries[k]) {
				t.Fatalf("step %d: a failed SetMember changed the tree or the map (%+v, was %+v)", step, a.doc.Entries[k], b.doc.Entries[k])
			}
			if fail >= 2 {
				// b: the change as the plain path sees it.
				b.doc.Entries[k] = a.doc.Entries[k]
				nt, bchanged, err := c.Sync(b.tree, b.v)
				if err != nil {
					t.Fatal(err)
				}
				b.tree = nt
				if bchanged != changed {
					t.Fatalf("step %d: SetMember says changed=%v, Sync %v", step, changed, bchanged)
				}
			}
		case op == 6: // a new member, on both
			for _, s := range []*memberSide{&a, &b} {
				s.doc.Entries[k+"n"] = memRec{Name: k}
			}
		case op == 7: // one gone
			for _, s := range []*memberSide{&a, &b} {
				delete(s.doc.Entries, k)
			}
		case op == 8: // elsewhere in the document
			for _, s := range []*memberSide{&a, &b} {
				s.doc.Title = fmt.Sprint("title ", step)
				if s.doc.Tags == nil {
					s.doc.Tags = map[string]string{}
				}
				s.doc.Tags[k] = fmt.Sprint(step)
			}
		default:
			_, in := b.doc.Entries[lastK]
			back := in && next(2) == 0
			for _, s := range []*memberSide{&a, &b} {
				if back {
					// The member SetMember changed last, back by hand to
					// what it held: its memory is what the table copy
					// holds again.
					s.doc.Entries[lastK] = lastOld
				} else {
					// A member by hand: the table copy sees it.
					r := s.doc.Entries[k]
					r.N = int64(step)
					s.doc.Entries[k] = r
				}
			}
		}
		if op >= 6 {
			for _, s := range []*memberSide{&a, &b} {
				nt, _, err := c.Sync(s.tree, s.v)
				if err != nil {
					t.Fatal(err)
				}
				s.tree = nt
			}
		}
		want, _ := json.MarshalIndent(&b.doc, "", "  ")
		for name, s := range map[string]*memberSide{"SetMember": &a, "plain": &b} {
			got, err := c.Append(nil, s.tree, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(bytes.TrimSpace(got), want) {
				t.Fatalf("step %d (op %d): the %s side writes\n%.400s\nencoding/json writes\n%.400s", step, op, name, got, want)
			}
		}
		pa, ca, ea := c.MergePatch(nil, a.shape, a.tree)
		pb, cb, eb := c.MergePatch(nil, b.shape, b.tree)
		if ca != cb || ea != eb || !bytes.Equal(pa, pb) {
			t.Fatalf("step %d (op %d): SetMember's patch %s (changed %v, exact %v), the plain path's %s (%v, %v)", step, op, pa, ca, ea, pb, cb, eb)
		}
		cur, _ := json.Marshal(&b.doc)
		if ca && ea {
			if got := applyAny(t, prev, pa); !jsonEqual(got, cur) {
				t.Fatalf("step %d: the patch %s turns the last document into\n%.400s\nnot\n%.400s", step, pa, got, cur)
			}
		}
		prev = cur
	}
	return set
}

// choices is a source of choices for runMemberDiff, from a seeded
// generator or from a fuzzer's bytes.
func choices(rng *rand.Rand, data []byte) func(n int) int {
	return func(n int) int {
		if rng != nil {
			return rng.IntN(n)
		}
		if len(data) == 0 {
			return 0
		}
		x := int(data[0])
		data = data[1:]
		return x % n
	}
}

func TestSetMemberDiff(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "table", false: "walk"}[on], func(t *testing.T) {
			defer setTablePeek(on)()
			for seed := range uint64(10) {
				if set := runMemberDiff(t, choices(rand.New(rand.NewPCG(seed, 11)), nil), 300); set < 50 {
					t.Errorf("seed %d: SetMember changed only %d members in 300 steps", seed, set)
				}
			}
		})
	}
}

func FuzzSetMember(f *testing.F) {
	for seed := range uint64(4) {
		b := binary.LittleEndian.AppendUint64(nil, seed*0x9e3779b97f4a7c15)
		f.Add(append(b, b...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runMemberDiff(t, choices(nil, data), len(data)/2+1)
	})
}

// SetMember refuses, without running the function, what it cannot do
// exactly: a map the document may hold twice, a member of a type that
// shares memory, a key not in the map, a nil map.
func TestSetMemberRefuses(t *testing.T) {
	type twice struct {
		A map[string]memRec `json:"a"`
		B map[string]memRec `json:"b"`
	}
	type named map[string]memRec
	type convertible struct {
		A map[string]memRec `json:"a"`
		B named             `json:"b"`
	}
	type inSlice struct {
		A map[string]memRec   `json:"a"`
		L []map[string]memRec `json:"l"`
	}
	type shares struct {
		A map[string][]int `json:"a"`
	}
	type ok struct {
		A map[string]memRec `json:"a"`
	}
	check := func(name string, v any, key string, want bool) {
		t.Helper()
		rv := reflect.ValueOf(v).Elem()
		c := New(rv.Type(), "")
		c.SetTreeThreshold(0)
		tree, _, err := c.Sync(nil, rv)
		if err != nil {
			t.Fatal(err)
		}
		ran := false
		_, _, handled, err := c.SetMember(tree, rv, 0, reflect.ValueOf(key), func(reflect.Value) error { ran = true; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if handled != want || ran != want {
			t.Errorf("%s: handled %v, ran %v; want %v", name, handled, ran, want)
		}
	}
	m := func() map[string]memRec { return map[string]memRec{"x": {Name: "x"}} }
	check("two fields", &twice{A: m(), B: m()}, "x", false)
	check("a named map type", &convertible{A: m()}, "x", false)
	check("a slice of maps", &inSlice{A: m()}, "x", false)
	check("a slice member", &shares{A: map[string][]int{"x": {1}}}, "x", false)
	check("a new key", &ok{A: m()}, "y", false)
	check("a nil map", &ok{}, "x", false)
	check("a plain map", &ok{A: m()}, "x", true)
}

// A member SetMember changed, set back by hand to the bytes it had (the
// same key string, the same value) before any Sync: the map's memory is
// then what the table copy holds, and only the tree knows the member
// changed. Sync must see it.
func TestSetMemberThenBackByHand(t *testing.T) {
	c := New(reflect.TypeFor[memDoc](), "")
	c.SetTreeThreshold(0)
	var d memDoc
	d.Entries = map[string]memRec{}
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%02d", i)
		d.Entries[keys[i]] = memRec{Name: keys[i]}
	}
	v := reflect.ValueOf(&d).Elem()
	tree, _, err := c.Sync(nil, v)
	for range 2 {
		if err == nil {
			tree, _, err = c.Sync(tree, v) // the table copy is taken once the map is steady
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if tablePeekOK && (*node)(tree).kids[1].table == nil {
		t.Fatal("no table copy taken")
	}
	for round := range 3 {
		k := keys[round*7]
		old := d.Entries[k]
		tree, _, _, err = c.SetMember(tree, v, 1, reflect.ValueOf(k), func(e reflect.Value) error {
			e.Addr().Interface().(*memRec).N++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		d.Entries[k] = old
		var changed bool
		if tree, changed, err = c.Sync(tree, v); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(&d)
		got, err := c.Append(nil, tree, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !changed || !bytes.Equal(bytes.TrimSpace(got), want) {
			t.Fatalf("round %d: changed %v; the codec writes\n%.300s\nencoding/json writes\n%.300s", round, changed, got, want)
		}
	}
}
