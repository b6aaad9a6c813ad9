package jsonenc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	jt "github.com/durable-go/durable/internal/jsonenc/jsonenctest"
)

// The differential test of MergePatch and ApplyMergePatch against the
// plain path: in-place updates chosen by the input, several to a batch as
// the store applies them, some failing and undone. After each batch:
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
// The family of types and the mutator are this file's own, so that the
// test stands apart from the codec's differential test. FuzzMergePatch
// explores; TestMergePatchSeeded is its CI run.

func FuzzMergePatch(f *testing.F) {
	for seed := range uint64(8) {
		f.Add(patchSeed(seed, 400))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<12 {
			return
		}
		runPatch(t, &patchIn{jt.NewIn(data)}, 48)
	})
}

func TestMergePatchSeeded(t *testing.T) {
	var st patchStats
	for seed := uint64(0); st.batches < 3000; seed++ {
		st.add(runPatch(t, &patchIn{jt.NewIn(patchSeed(seed, 1500))}, 60))
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
	t.Logf("%d batches: %d exact patches checked, %d applied and checked, %d inexact", st.batches, st.exact, st.applied, st.inexact)
	if st.exact < st.batches/4 || st.applied < st.batches/8 || st.inexact == 0 {
		t.Fatalf("the test checks too little: %+v", st)
	}
}

// TestMergePatchSeededPlain runs the seeds with the shortcuts off: no
// edit lists (every map's members copied at Shape, patch.go) and no table
// copies (maptable.go).
func TestMergePatchSeededPlain(t *testing.T) {
	noEditLists = true
	defer func() { noEditLists = false }()
	defer setTablePeek(false)()
	TestMergePatchSeeded(t)
}

func patchSeed(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x23))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[0], b[1] = byte(seed), byte(seed/uint64(len(patchTypes)))
	return b
}

// patchIn reads choices from the input as the codec's differential test
// does (past its end every choice is 0), with the mutations of this test.
type patchIn struct{ *jt.In }

func (in *patchIn) n(k int) int { return in.N(k) }
func (in *patchIn) done() bool  { return in.Done() }

type patchStats struct{ batches, exact, applied, inexact int }

func (s *patchStats) add(o patchStats) {
	s.batches += o.batches
	s.exact += o.exact
	s.applied += o.applied
	s.inexact += o.inexact
}

// The type family: objects the plan splits (structs, maps, maps of maps,
// a map at the root), leaves of every kind (structs in maps, pointers
// that write null, omitempty and omitzero, slices, interfaces holding
// objects, a marshaler), so that patches cross the boundary between the
// tree and encoding/json's own encodings.
type (
	ptLeaf struct {
		N int    `json:"n"`
		S string `json:"s,omitempty"`
		P *int   `json:"p"`
		L []int  `json:"l,omitempty"`
	}
	ptSub struct {
		A int                `json:"a"`
		M map[string]*ptLeaf `json:"m"`
	}
	ptDoc struct {
		Title  string                    `json:"title"`
		Count  int                       `json:"count,omitzero"`
		Ptr    *string                   `json:"ptr"`
		OptPtr *string                   `json:"opt_ptr,omitempty"`
		Leaves map[string]ptLeaf         `json:"leaves"`
		Nested map[string]map[string]int `json:"nested,omitempty"`
		Sub    ptSub                     `json:"sub"`
		Any    any                       `json:"any"`
		Marsh  ptMarsh                   `json:"marsh"`
		Tags   []string                  `json:"tags"`
	}
	ptRootMap map[string]map[string]ptLeaf
	ptMarsh   struct{ V int }
)

// MarshalJSON writes an object whose members depend on V (and null for 7).
func (m ptMarsh) MarshalJSON() ([]byte, error) {
	if m.V == 7 {
		return []byte("null"), nil
	}
	if m.V%2 == 0 {
		return fmt.Appendf(nil, `{"v":%d}`, m.V), nil
	}
	return fmt.Appendf(nil, `{"v":%d,"odd":true}`, m.V), nil
}

func (m *ptMarsh) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		m.V = 7
		return nil
	}
	var x struct {
		V int `json:"v"`
	}
	err := json.Unmarshal(b, &x)
	m.V = x.V
	return err
}

var patchTypes = []func(t *testing.T, in *patchIn, tree bool, indent string, max int) patchStats{
	patchRun[ptDoc],
	patchRun[ptRootMap],
	patchRun[ptSub],
	patchRun[map[string]any],
}

func runPatch(t *testing.T, in *patchIn, max int) patchStats {
	typ := in.n(len(patchTypes))
	mode := in.n(6)
	indent := []string{"  ", "\t", ""}[mode%3]
	return patchTypes[typ](t, in, mode < 3, indent, max)
}

// mutate changes one thing somewhere in v, chosen by the input: it
// descends into structs, maps, pointers and slices, and sets, adds or
// deletes on the way.
func (in *patchIn) mutate(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[ptMarsh]() {
			v.Field(0).SetInt(int64(in.n(9)))
			return
		}
		in.mutate(v.Field(in.n(v.NumField())), depth+1)
	case reflect.Map:
		if v.IsNil() || in.n(8) == 0 {
			if in.n(3) == 0 {
				v.SetZero()
			} else {
				v.Set(reflect.MakeMap(v.Type()))
			}
			return
		}
		k := reflect.ValueOf(fmt.Sprintf("k%d", in.n(6))).Convert(v.Type().Key())
		switch in.n(4) {
		case 0:
			v.SetMapIndex(k, reflect.Value{})
		default:
			e := reflect.New(v.Type().Elem()).Elem()
			if cur := v.MapIndex(k); cur.IsValid() {
				e.Set(cur)
			}
			// A copy: never change a map another member may share.
			e = cloneForTest(e)
			in.mutate(e, depth+1)
			v.SetMapIndex(k, e)
		}
	case reflect.Pointer:
		if v.IsNil() || in.n(4) == 0 {
			if in.n(2) == 0 {
				v.SetZero()
			} else {
				v.Set(reflect.New(v.Type().Elem()))
			}
			return
		}
		in.mutate(v.Elem(), depth+1)
	case reflect.Slice:
		switch in.n(3) {
		case 0:
			v.SetZero()
		default:
			e := reflect.New(v.Type().Elem()).Elem()
			in.mutate(e, depth+1)
			v.Set(reflect.Append(v, e))
		}
	case reflect.Interface:
		if x := in.anyValue(depth); x == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.String:
		v.SetString([]string{"", "a", "b", "x y", "\u00e9", "null"}[in.n(6)])
	case reflect.Int:
		v.SetInt(int64(in.n(5)))
	}
}

func (in *patchIn) anyValue(depth int) any {
	switch k := in.n(6); {
	case k == 0 || depth > 4:
		return nil
	case k == 1:
		return float64(in.n(4))
	case k == 2:
		return "s"
	case k == 3:
		return []any{in.anyValue(depth + 1), in.anyValue(depth + 1)}
	default:
		m := map[string]any{}
		for range in.n(3) {
			m[fmt.Sprintf("a%d", in.n(4))] = in.anyValue(depth + 1)
		}
		return m
	}
}

// cloneForTest deep-copies a value through its encoding where that is
// exact (the family has no hidden state but ptMarsh, which round-trips).
func cloneForTest(v reflect.Value) reflect.Value {
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return v
	}
	out := reflect.New(v.Type())
	if json.Unmarshal(b, out.Interface()) != nil {
		return v
	}
	return out.Elem()
}

func patchRun[T any](t *testing.T, in *patchIn, tree bool, indent string, max int) (st patchStats) {
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
				in.mutate(v, 0)
			}
			var next *Tree
			if !fail {
				next, _, err = c.Sync(enc, v)
			}
			if fail || err != nil {
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
			if !needsNull(decodeAny(old), decodeAny(nw)) {
				t.Errorf("%s: not exact, but no member is set to null", label)
			}
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

// needsNull reports whether turning old into new sets some object member
// to null, or puts a null member inside an object that is new or replaces
// a non-object: what no merge patch can say. It is the plain path's
// reading of MergePatch's exact flag.
func needsNull(old, new any) bool {
	nm, ok := new.(map[string]any)
	if !ok {
		return false
	}
	om, _ := old.(map[string]any)
	for k, nv := range nm {
		ov, had := om[k]
		switch {
		case nv == nil && (!had || ov != nil):
			return true
		case nv == nil:
		case om == nil || !had:
			if hasNullAny(nv) {
				return true
			}
		case !reflect.DeepEqual(ov, nv) && needsNull(ov, nv):
			return true
		}
	}
	return false
}

func hasNullAny(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, x := range m {
		if x == nil || hasNullAny(x) {
			return true
		}
	}
	return false
}

// compactJSON is encoding/json's compact encoding without HTML escaping,
// a nil root map as {}, as the store writes a document (compact).
func compactJSON(v any) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("encoding/json panicked: %v", p)
		}
	}()
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	b = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if reflect.TypeOf(v).Elem().Kind() == reflect.Map && string(b) == "null" {
		b = []byte("{}")
	}
	return b, nil
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
