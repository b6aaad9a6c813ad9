package jsonenc

import (
	"errors"
	"reflect"
	"testing"
	"time"

	jt "github.com/durable-go/durable/internal/jsonenc/jsonenctest"
)

// Which types the tree may undo from its snapshots: only those whose
// values its snapshots and comparisons fix entirely.
func TestExactTypes(t *testing.T) {
	type (
		plain struct {
			A int     `json:"a,omitempty"`
			S string  `json:",omitempty"`
			P *int    `json:"p,omitempty"`
			F float64 `json:"f"`
			Q int     `json:"q,string"`
			T time.Time
			M map[string][]int `json:"m,omitzero"`
			K map[int8]string
		}
		unexported struct {
			A int
			//lint:ignore U1000 its presence is what the test classifies
			b int
		}
		ignored struct {
			A int
			B int `json:"-"`
		}
		embedded struct {
			plain
		}
		anyField struct{ X any }
		emptyMap struct {
			M map[string]int `json:",omitempty"`
		}
		emptySlice struct {
			S []int `json:",omitempty"`
		}
		emptyFloat struct {
			F float32 `json:",omitempty"`
		}
		zeroFloats struct {
			A [2]struct{ F float64 } `json:",omitzero"`
		}
		zeroTime struct {
			T time.Time `json:",omitzero"`
		}
		recursive struct {
			Next *recursive
			Kids map[string]recursive
		}
		textKey   struct{ M map[jt.Text]int }
		hiddenKid struct{ K []jt.Hidden }
	)
	// Two fields under one name, made at run time so that vet does not
	// take the deliberate clash for a mistake.
	dup := reflect.StructOf([]reflect.StructField{
		{Name: "A", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
		{Name: "B", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
	})
	for _, tc := range []struct {
		t    reflect.Type
		want bool
	}{
		{reflect.TypeFor[plain](), true},
		{reflect.TypeFor[recursive](), true},
		{reflect.TypeFor[jt.Leaf](), true},
		{reflect.TypeFor[jt.ExactDoc](), true},
		{reflect.TypeFor[jt.ExactMap](), true},
		{reflect.TypeFor[map[string]map[string]int](), true},
		{reflect.TypeFor[[]*[3]string](), true},
		{reflect.TypeFor[unexported](), false},
		{reflect.TypeFor[ignored](), false},
		{dup, false},
		{reflect.TypeFor[embedded](), false},
		{reflect.TypeFor[anyField](), false},
		{reflect.TypeFor[emptyMap](), false},
		{reflect.TypeFor[emptySlice](), false},
		{reflect.TypeFor[emptyFloat](), false},
		{reflect.TypeFor[zeroFloats](), false},
		{reflect.TypeFor[zeroTime](), false},
		{reflect.TypeFor[textKey](), false},
		{reflect.TypeFor[hiddenKid](), false},
		{reflect.TypeFor[jt.Doc](), false},
		{reflect.TypeFor[jt.Item](), false},
		{reflect.TypeFor[jt.Marshal](), false},
		{reflect.TypeFor[complex64](), false},
		{reflect.TypeFor[map[float64]int](), false},
	} {
		if got := exactType(tc.t, map[reflect.Type]bool{}); got != tc.want {
			t.Errorf("exactType(%v) = %v, want %v", tc.t, got, tc.want)
		}
	}
}

type undoDoc struct {
	Title string                       `json:"title"`
	M     map[string]map[string]int    `json:"m"`
	Big   map[string]jt.Leaf           `json:"big"`
	Sub   jt.ExactSub                  `json:"sub,omitzero"`
	Ptrs  map[string]map[string]*int64 `json:"ptrs"`
}

// A failed update of a type without hidden state is undone from the
// tree's snapshots, not from a deep copy: exactly, even where the
// function made members share memory, or changed members the tree
// leaves out (omitted) or cannot tell apart by their encoding (invalid
// UTF-8).
func TestUndoFromTree(t *testing.T) {
	s := newHarness[undoDoc](t, "  ", 0)
	if !s.c.exact {
		t.Fatal("undoDoc is not taken as a type without hidden state: the test checks nothing new")
	}
	seven := int64(7)
	if err := s.Update(func(d *undoDoc) error {
		d.Title = "\xff"
		d.M = map[string]map[string]int{}
		d.Big = map[string]jt.Leaf{}
		for i := range 40 {
			k := benchKey(i)
			d.M[k] = map[string]int{"x": i}
			d.Big[k] = jt.Leaf{N: i, S: k}
		}
		d.Ptrs = map[string]map[string]*int64{"a": {"p": &seven}, "b": {"p": nil}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if s.tree == nil || s.tree.whole {
		t.Fatal("the document is not kept as a tree")
	}
	// Same bytes, another value: the tree must take the new one as its
	// copy, or a later undo would bring the old one back.
	if err := s.Update(func(d *undoDoc) error { d.Title = "\xfe"; return nil }); err != nil && !errors.Is(err, errNoChange) {
		t.Fatal(err)
	}
	want := jt.Fingerprint(reflect.ValueOf(s.v.Interface()))
	boom := errors.New("boom")
	for name, fn := range map[string]func(d *undoDoc){
		"alias maps": func(d *undoDoc) {
			d.M[benchKey(1)] = d.M[benchKey(2)]
			d.M[benchKey(1)]["x"] = -1
			d.M[benchKey(3)]["y"] = 5
		},
		"alias pointer": func(d *undoDoc) {
			d.Ptrs["b"]["p"] = d.Ptrs["a"]["p"]
			*d.Ptrs["a"]["p"] = 8
		},
		"omitted member": func(d *undoDoc) {
			d.Sub.A = 3
			d.Sub.M = map[string]int{}
		},
		"same bytes": func(d *undoDoc) { d.Title = "\xfd" },
		"keys": func(d *undoDoc) {
			delete(d.Big, benchKey(4))
			d.Big["new"] = jt.Leaf{}
			d.M = nil
		},
		"whole map": func(d *undoDoc) { d.Big = nil },
	} {
		for _, panics := range []bool{false, true} {
			err := func() (err error) {
				defer func() {
					if p := recover(); p != nil {
						err = boom
					}
				}()
				return s.Update(func(d *undoDoc) error {
					fn(d)
					if panics {
						panic(boom)
					}
					return boom
				})
			}()
			if !errors.Is(err, boom) {
				t.Fatalf("%s: err = %v", name, err)
			}
			if got := jt.Fingerprint(s.v); got != want {
				t.Fatalf("%s (panics %v): after the undo\n%s\nwant\n%s", name, panics, got, want)
			}
		}
	}
	// The undone value is what the next update sees.
	if err := s.Update(func(d *undoDoc) error {
		if got := jt.Fingerprint(reflect.ValueOf(*d)); got != want {
			t.Errorf("the next update sees\n%s\nwant\n%s", got, want)
		}
		return nil
	}); err != nil && !errors.Is(err, errNoChange) {
		t.Fatal(err)
	}
}
