package jsonenc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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

// raw scans the members of small objects and indexes large ones: both
// ways must give a patch that turns the old object into the new one, and
// call it inexact exactly when a key repeats.
func TestRawPatchSmallAndLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 7))
	for _, size := range []int{2, 5, smallObject, smallObject + 1, 40} {
		for range 300 {
			dup := false
			obj := func() []byte {
				var b bytes.Buffer
				b.WriteByte('{')
				seen := map[string]bool{}
				n := 1 + rng.IntN(size)
				for i := range n {
					k := fmt.Sprintf("k%d", rng.IntN(size+size/2+1))
					dup = dup || seen[k]
					seen[k] = true
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, "%q:", k)
					if rng.IntN(4) == 0 {
						fmt.Fprintf(&b, `{"x":%d,"y":[%d]}`, rng.IntN(3), rng.IntN(3))
					} else {
						fmt.Fprint(&b, rng.IntN(3))
					}
				}
				b.WriteByte('}')
				return b.Bytes()
			}
			old, nw := obj(), obj()
			pt := &patcher{exact: true}
			patch, changed := pt.raw(nil, old, nw, true)
			if dup {
				if pt.exact {
					t.Fatalf("size %d: %s -> %s: a repeated key, and the patch %s is called exact", size, old, nw, patch)
				}
				continue
			}
			if !pt.exact {
				t.Fatalf("size %d: %s -> %s: no repeated key, and the patch %s is not exact", size, old, nw, patch)
			}
			if !changed {
				if !jsonEqual(old, nw) {
					t.Fatalf("size %d: %s -> %s: no change reported", size, old, nw)
				}
				continue
			}
			if got := MergeRaw(old, patch); !jsonEqual(got, nw) {
				t.Fatalf("size %d: %s + %s gives %s, want %s", size, old, patch, got, nw)
			}
		}
	}
}
