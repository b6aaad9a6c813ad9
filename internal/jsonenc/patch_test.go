package jsonenc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// The differential test of MergePatch and ApplyMergePatch against the
// plain path: the same in-place updates as the codec's differential test
// (codec_diffmut_test.go), several to a batch as the store applies them,
// some failing and undone. After each batch:
//
//   - the patch MergePatch derived from the tree, applied by an
//     independent RFC 7386 implementation on decoded JSON (mergeAny) to
//     encoding/json's encoding of the value before the batch, must give
//     encoding/json's encoding of the value after it (when MergePatch calls
//     it exact);
//   - MergeRaw must agree with mergeAny;
//   - ApplyMergePatch on a value decoded from the old encoding must give a
//     value that encodes as the new one (for values that survive a round
//     trip through their encoding at all: hidden state does not).
//
// FuzzMergePatch explores; TestMergePatchSeeded is its CI run.

func FuzzMergePatch(f *testing.F) {
	for seed := range uint64(8) {
		f.Add(seededInput(seed, 400))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<12 {
			return
		}
		runPatch(t, &fzIn{data: data}, 48)
	})
}

func TestMergePatchSeeded(t *testing.T) {
	var st patchStats
	for seed := uint64(0); st.batches < 3000; seed++ {
		st.add(runPatch(t, &fzIn{data: seededInput(seed, 1500)}, 60))
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
	t.Logf("%d batches: %d exact patches checked, %d applied and checked, %d inexact", st.batches, st.exact, st.applied, st.inexact)
	if st.exact < st.batches/4 || st.applied < st.batches/8 || st.inexact == 0 {
		t.Fatalf("the test checks too little: %+v", st)
	}
}

type patchStats struct{ batches, exact, applied, inexact int }

func (s *patchStats) add(o patchStats) {
	s.batches += o.batches
	s.exact += o.exact
	s.applied += o.applied
	s.inexact += o.inexact
}

var patchTypes = []func(t *testing.T, in *fzIn, tree bool, indent string, max int) patchStats{
	patchRun[fzDoc],
	patchRun[fzEmbDoc],
	patchRun[fzNest],
	patchRun[fzMapOfMaps],
	patchRun[fzMMDoc],
	patchRun[fzItemMap],
	patchRun[fzItems],
	patchRun[fzExactDoc],
	patchRun[fzExactMap],
}

func runPatch(t *testing.T, in *fzIn, max int) patchStats {
	typ := in.n(len(patchTypes))
	mode := in.n(6)
	indent := []string{"  ", "\t", ""}[mode%3]
	return patchTypes[typ](t, in, mode < 3, indent, max)
}

func patchRun[T any](t *testing.T, in *fzIn, tree bool, indent string, max int) (st patchStats) {
	t.Helper()
	c := New(reflect.TypeFor[T](), indent)
	if tree {
		c.SetTreeThreshold(0)
	}
	var doc T
	v := reflect.ValueOf(&doc).Elem()
	enc, _, err := c.Sync(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	mut := &fzMut{in: in}
	where := fmt.Sprintf("%T tree=%v indent=%q", doc, tree, indent)
	for step := 0; step < max && !in.done(); step++ {
		old, err := compactJSON(&doc)
		if err != nil {
			return st
		}
		shape := c.Shape(enc)
		for range 1 + in.n(3) {
			fail := in.n(6) == 0
			undo := c.SaveForUndo(enc, v)
			for range 1 + in.n(3) {
				mut.mutate(v, 0)
			}
			var next *Tree
			var panicked any
			if !fail {
				func() {
					// A marshaler may panic: undone like a failure.
					defer func() { panicked = recover() }()
					next, _, err = c.Sync(enc, v)
				}()
			}
			if fail || err != nil || panicked != nil {
				if uerr := undo(); uerr != nil {
					t.Fatalf("%s: undo: %v", where, uerr)
				}
				continue
			}
			enc = next
		}
		st.batches++
		nw, err := compactJSON(&doc)
		if err != nil {
			t.Fatalf("%s: the synced value does not encode: %v", where, err)
		}
		patch, changed, exact := c.MergePatch(nil, shape, enc)
		label := fmt.Sprintf("%s step %d:\nold   %s\nnew   %s\npatch %s", where, step, old, nw, patch)
		if !changed {
			if !jsonEqual(old, nw) {
				t.Fatalf("%s: MergePatch reports no change", label)
			}
			continue
		}
		if !exact {
			st.inexact++
			continue
		}
		st.exact++
		if !json.Valid(patch) {
			t.Fatalf("%s: the patch is not valid JSON", label)
		}
		if got := applyAny(t, old, patch); !jsonEqual(got, nw) {
			t.Fatalf("%s: applied by the plain path gives\n      %s", label, got)
		}
		if got := MergeRaw(old, patch); !jsonEqual(got, nw) {
			t.Fatalf("%s: MergeRaw gives\n      %s", label, got)
		}
		// ApplyMergePatch, where a value is what its encoding says.
		var ov, nv T
		if json.Unmarshal(old, &ov) != nil || json.Unmarshal(nw, &nv) != nil {
			continue
		}
		if b, err := compactJSON(&ov); err != nil || !bytes.Equal(b, old) {
			continue
		}
		if b, err := compactJSON(&nv); err != nil || !bytes.Equal(b, nw) {
			continue
		}
		if err := c.ApplyMergePatch(reflect.ValueOf(&ov).Elem(), patch); err != nil {
			t.Fatalf("%s: ApplyMergePatch: %v", label, err)
		}
		got, err := compactJSON(&ov)
		if err != nil || !bytes.Equal(got, nw) {
			t.Fatalf("%s: ApplyMergePatch gives\n      %s (%v)", label, got, err)
		}
		st.applied++
	}
	return st
}

// compactJSON is encoding/json's compact encoding, a nil root map as {}.
func compactJSON(v any) (b []byte, err error) {
	b, err = storeEncoding(v, "")
	return bytes.TrimSuffix(b, []byte("\n")), err
}

func jsonEqual(a, b []byte) bool {
	return reflect.DeepEqual(decodeAny(a), decodeAny(b))
}

func decodeAny(b []byte) any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return fmt.Sprintf("invalid JSON %q: %v", b, err)
	}
	return x
}

// applyAny is RFC 7386's MergePatch, as its pseudocode says, on decoded
// JSON: the plain path.
func applyAny(t *testing.T, target, patch []byte) []byte {
	out, err := json.Marshal(mergeAny(decodeAny(target), decodeAny(patch)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mergeAny(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(tm, k)
		} else {
			tm[k] = mergeAny(tm[k], v)
		}
	}
	return tm
}

// TestMergePatchNull: a member set to null has no merge patch (null
// deletes), so MergePatch says the patch is not exact; deleting a member
// and setting others is exact.
func TestMergePatchNull(t *testing.T) {
	type doc struct {
		P *int            `json:"p"`
		O *int            `json:"o,omitempty"`
		M map[string]*int `json:"m"`
	}
	one := 1
	c := New(reflect.TypeFor[doc](), "  ")
	c.SetTreeThreshold(0)
	d := doc{P: &one, O: &one, M: map[string]*int{"a": &one, "b": &one}}
	v := reflect.ValueOf(&d).Elem()
	tree, _, err := c.Sync(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func()
		patch  string
		exact  bool
	}{
		{"omitempty member gone", func() { d.O = nil }, `{"o":null}`, true},
		{"map key deleted", func() { delete(d.M, "a") }, `{"m":{"a":null}}`, true},
		{"member set to null", func() { d.P = nil }, `{"p":null}`, false},
		{"map value set to null", func() { d.M["b"] = nil }, `{"m":{"b":null}}`, false},
		{"map key added", func() { two := 2; d.M["c"] = &two }, `{"m":{"c":2}}`, true},
	} {
		sh := c.Shape(tree)
		tc.change()
		next, _, err := c.Sync(tree, v)
		if err != nil {
			t.Fatal(err)
		}
		tree = next
		patch, changed, exact := c.MergePatch(nil, sh, tree)
		if !changed || exact != tc.exact || string(patch) != tc.patch {
			t.Errorf("%s: patch %s changed %v exact %v, want %s exact %v", tc.name, patch, changed, exact, tc.patch, tc.exact)
		}
	}
}
