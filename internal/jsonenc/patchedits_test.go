package jsonenc

import (
	"encoding/json"
	"reflect"
	"testing"
)

// A map's edit list that cannot say what changed (it overflowed, or a
// newer shape restarted it) must make MergePatch inexact, never wrong and
// never silent: the caller then records the whole document.
func TestMergePatchEditListLost(t *testing.T) {
	c := New(reflect.TypeFor[benchDoc](), "")
	c.SetTreeThreshold(0)
	doc := newBenchDoc(maxEdits + 10)
	v := reflect.ValueOf(&doc).Elem()
	tree, _, err := c.Sync(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	bump := func(i int) {
		e := doc.Entries[benchKey(i)]
		e.Hits++
		doc.Entries[benchKey(i)] = e
		if tree, _, err = c.Sync(tree, v); err != nil {
			t.Fatal(err)
		}
	}

	// Exact while the list holds every change, several per member.
	sh := c.Shape(tree)
	before, _ := json.Marshal(&doc)
	for i := range 30 {
		bump(i % 7)
	}
	patch, changed, exact := c.MergePatch(nil, sh, tree)
	after, _ := json.Marshal(&doc)
	if !changed || !exact {
		t.Fatalf("changed=%v exact=%v, want both", changed, exact)
	}
	if got := MergeRaw(before, patch); !jsonEqual(got, after) {
		t.Fatalf("the patch %s does not give the document", patch)
	}

	// Overflowed.
	sh = c.Shape(tree)
	for i := range maxEdits + 1 {
		bump(i)
	}
	if _, changed, exact := c.MergePatch(nil, sh, tree); !changed || exact {
		t.Fatalf("after %d edits: changed=%v exact=%v, want changed and not exact", maxEdits+1, changed, exact)
	}

	// A newer shape.
	old := c.Shape(tree)
	c.Shape(tree)
	bump(1)
	if _, changed, exact := c.MergePatch(nil, old, tree); !changed || exact {
		t.Fatalf("with a newer shape taken: changed=%v exact=%v, want changed and not exact", changed, exact)
	}
}
