package jsonenc

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// appendCompact strips by hand what json.Indent put in a leaf's encoding:
// on every encoding that encodeLeaf can write (encoding/json's output,
// indented at any depth) it must write what json.Compact writes.
func TestAppendCompact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		v := randomJSONValue(rng, 4)
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		checkCompact(t, enc, strings.Repeat("  ", i%5), "  ")
		checkCompact(t, enc, "", "\t")
	}
}

// FuzzAppendCompact: any valid JSON, indented, compacts as json.Compact
// compacts it.
func FuzzAppendCompact(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,"x y",{"b":"\" \\\\ \n"}]`, `"s"`, `{"k":{"":[[],{}]}}`, `{"a b":" \t"}`} {
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, depth uint8) {
		if !json.Valid(data) {
			return
		}
		var c bytes.Buffer
		if err := json.Compact(&c, data); err != nil {
			t.Fatal(err)
		}
		checkCompact(t, c.Bytes(), strings.Repeat("  ", int(depth%8)), "  ")
	})
}

func checkCompact(t *testing.T, compact []byte, prefix, indent string) {
	t.Helper()
	var ind bytes.Buffer
	if err := json.Indent(&ind, compact, prefix, indent); err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{ind.Bytes(), compact} {
		var want bytes.Buffer
		if err := json.Compact(&want, in); err != nil {
			t.Fatal(err)
		}
		got := appendCompact([]byte("x"), in)
		if !bytes.Equal(got[1:], want.Bytes()) || got[0] != 'x' {
			t.Fatalf("appendCompact(%q)\n= %q\nwant %q", in, got[1:], want.Bytes())
		}
	}
}

// randomJSONValue is a value of JSON's kinds whose strings hold what
// needs escaping and what looks like whitespace or structure.
func randomJSONValue(rng *rand.Rand, depth int) any {
	strs := []string{"", " ", "a b", "\"", "\\", "\\\"", "\n\t\r", "{[,:]}", "é ü", "\u2028", "<&>", " \" \\ "}
	k := rng.IntN(7)
	if depth == 0 {
		k %= 4
	}
	switch k {
	case 0:
		return strs[rng.IntN(len(strs))]
	case 1:
		return rng.NormFloat64() * 1e6
	case 2:
		return rng.IntN(2) == 0
	case 3:
		return nil
	case 4, 5:
		m := map[string]any{}
		for range rng.IntN(4) {
			m[strs[rng.IntN(len(strs))]+strs[rng.IntN(len(strs))]] = randomJSONValue(rng, depth-1)
		}
		return m
	}
	var a []any
	for range rng.IntN(4) {
		a = append(a, randomJSONValue(rng, depth-1))
	}
	return a
}

// refusing decodes nothing that it writes once it is 7.
type refusing struct{ V int }

func (r refusing) MarshalJSON() ([]byte, error) {
	return []byte(`{"v":` + strconv.Itoa(r.V) + `}`), nil
}
func (r *refusing) UnmarshalJSON(d []byte) error {
	if bytes.Contains(d, []byte("7")) {
		return errors.New("cannot read 7")
	}
	return nil
}

// A leaf that encodes to what it cannot decode is refused in the tree too
// (syncLeaf reads it back when the type has such a part, readBack), in a
// struct field, in a map of records, and under an unexported embedded
// pointer, which encoding/json writes and cannot allocate to decode.
func TestLeafReadBack(t *testing.T) {
	type hidden struct{ Shown int }
	type emb struct {
		*hidden
		Name string
	}
	type doc struct {
		One  refusing            `json:"one"`
		Recs map[string]refusing `json:"recs"`
		Embs map[string]emb      `json:"embs"`
		Fine map[string]int      `json:"fine"`
	}
	c := New(reflect.TypeFor[doc](), "  ")
	c.SetTreeThreshold(0)
	if !c.readBack {
		t.Fatal("readBack is off for a type with a refusing unmarshaler")
	}
	d := doc{Recs: map[string]refusing{"a": {1}}, Embs: map[string]emb{"e": {Name: "x"}}, Fine: map[string]int{"f": 1}}
	v := reflect.ValueOf(&d).Elem()
	root, _, err := c.Sync(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	for i, change := range []func(){
		func() { d.One.V = 7 },
		func() { d.Recs["a"] = refusing{7} },
		func() { d.Embs["e"] = emb{hidden: &hidden{Shown: 1}} },
	} {
		saved := doc{One: d.One, Recs: maps.Clone(d.Recs), Embs: maps.Clone(d.Embs), Fine: d.Fine}
		change()
		if _, _, err := c.Sync(root, v); err == nil || !strings.Contains(err.Error(), "decode back") {
			t.Fatalf("change %d: err = %v, want a refusal", i, err)
		}
		d = saved
		v = reflect.ValueOf(&d).Elem()
		if root, _, err = c.Sync(root, v); err != nil {
			t.Fatal(err)
		}
	}
	// A type with no such part skips the check, and still syncs.
	fine := New(reflect.TypeFor[benchDoc](), "  ")
	if fine.readBack {
		t.Fatal("readBack is on for plain records")
	}
}
