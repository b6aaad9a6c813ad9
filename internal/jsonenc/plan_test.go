package jsonenc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	jt "github.com/durable-go/durable/internal/jsonenc/jsonenctest"
)

// plan.go restates encoding/json's rules for struct fields: tag names and
// which are valid, "-", omitempty, omitzero, the string option, embedded
// structs and duplicate names. TestPlanMatchesEncodingJSON checks that
// reading against encoding/json itself over struct types generated at run
// time, so that a change in either shows here: for each type and many
// values, the members the plan writes, in order, must be the top-level keys
// encoding/json writes, and the codec's document must be encoding/json's,
// through the tree from a fresh start and after the value changed.

// tagZero has an IsZero method that is not the zero value's test.
type tagZero struct{ V int }

func (z tagZero) IsZero() bool { return z.V == 7 }

// tagPZero has IsZero on the pointer only.
type tagPZero struct{ V int }

func (z *tagPZero) IsZero() bool { return z.V == 3 }

// TagEmb and TagEmb2 are embedded: their fields are promoted, and the
// names they share with each other or the outer struct follow
// encoding/json's dominance rules.
type TagEmb struct {
	A int    `json:"a"`
	B string `json:"b,omitempty"`
	C int
}

type TagEmb2 struct {
	A int `json:"a"`
	D int `json:"d,omitzero"`
}

var tagNames = []string{"", "", "", "a", "b", "A", "B", "C", "x-y", "with space", "Ünï", "a.b", "-", "bad\\", "bad\"q", "b'c", "$#%"}

var tagOpts = []string{"omitempty", "omitzero", "string"}

var tagLeafTypes = []reflect.Type{
	reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[uint16](), reflect.TypeFor[string](),
	reflect.TypeFor[bool](), reflect.TypeFor[float64](), reflect.TypeFor[*int](), reflect.TypeFor[*string](),
	reflect.TypeFor[[]int](), reflect.TypeFor[[]byte](), reflect.TypeFor[[2]int](), reflect.TypeFor[[0]int](),
	reflect.TypeFor[map[string]int](), reflect.TypeFor[map[string]string](), reflect.TypeFor[any](),
	reflect.TypeFor[tagZero](), reflect.TypeFor[tagPZero](), reflect.TypeFor[*tagPZero](), reflect.TypeFor[time.Time](),
}

// genStruct returns a struct type of random fields, tags and options.
func genStruct(r *rand.Rand, depth int) reflect.Type {
	var fields []reflect.StructField
	n := r.IntN(6)
	for i := range n {
		f := reflect.StructField{Name: fmt.Sprintf("F%d", i)}
		switch x := r.IntN(12); {
		case x == 0 && depth < 2:
			f.Type = genStruct(r, depth+1)
		case x == 1 && depth < 2:
			f.Type = reflect.MapOf(reflect.TypeFor[string](), genStruct(r, depth+1))
		case x == 2:
			// Some Go names collide with tag names.
			f.Name = []string{"A", "B", "C"}[r.IntN(3)]
			if slices.ContainsFunc(fields, func(o reflect.StructField) bool { return o.Name == f.Name }) {
				f.Name = fmt.Sprintf("F%d", i)
			}
			f.Type = tagLeafTypes[r.IntN(len(tagLeafTypes))]
		default:
			f.Type = tagLeafTypes[r.IntN(len(tagLeafTypes))]
		}
		var tag []string
		if r.IntN(4) > 0 {
			tag = append(tag, tagNames[r.IntN(len(tagNames))])
			for _, o := range tagOpts {
				if r.IntN(3) == 0 {
					tag = append(tag, o)
				}
			}
		}
		if len(tag) > 0 {
			f.Tag = reflect.StructTag(fmt.Sprintf("json:%q", strings.Join(tag, ",")))
		}
		fields = append(fields, f)
	}
	if depth == 0 && r.IntN(4) == 0 {
		emb := []reflect.Type{reflect.TypeFor[TagEmb](), reflect.TypeFor[TagEmb2]()}[r.IntN(2)]
		fields = append(fields, reflect.StructField{Name: emb.Name(), Type: emb, Anonymous: true})
	}
	return reflect.StructOf(fields)
}

// genValue sets v to a random value, often the zero value (which the
// omit options test).
func genValue(r *rand.Rand, v reflect.Value, depth int) {
	if r.IntN(3) == 0 || depth > 4 {
		v.SetZero()
		return
	}
	t := v.Type()
	if t == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Unix(r.Int64N(1<<32), r.Int64N(1e9)).UTC()))
		return
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8:
		v.SetInt(int64(r.IntN(16) - 4))
	case reflect.Uint16:
		v.SetUint(uint64(r.IntN(16)))
	case reflect.String:
		v.SetString([]string{"", "x", "<&>", "\u2028", "a b", "7"}[r.IntN(6)])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Float64:
		v.SetFloat([]float64{0, 1.5, -2, 1e21, 3e-7}[r.IntN(5)])
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		genValue(r, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(t, r.IntN(3), r.IntN(3)+3)
		for i := range s.Len() {
			genValue(r, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			genValue(r, v.Index(i), depth+1)
		}
	case reflect.Map:
		m := reflect.MakeMap(t)
		for i := range r.IntN(3) {
			e := reflect.New(t.Elem()).Elem()
			genValue(r, e, depth+1)
			m.SetMapIndex(reflect.ValueOf(fmt.Sprint("k", i)), e)
		}
		v.Set(m)
	case reflect.Interface:
		v.Set(reflect.ValueOf([]any{1.5, "s", true, map[string]any{"n": 1.0}}[r.IntN(4)]))
	case reflect.Struct:
		for i := range v.NumField() {
			genValue(r, v.Field(i), depth+1)
		}
	}
}

// topKeys returns the keys of the JSON object doc, in order.
func topKeys(t *testing.T, doc []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", doc)
	}
	var keys []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestPlanMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 2))
	planned, leaves, checked := 0, 0, 0
	for typ := range 600 {
		n, ok := checkGenerated(t, r, fmt.Sprintf("type %d", typ))
		if ok {
			planned++
		} else {
			leaves++
		}
		checked += n
	}
	// Both ways must be exercised, or the test checks little.
	if planned < 100 || leaves < 100 || checked < 1000 {
		t.Fatalf("%d types planned, %d leaves, %d values checked against the plan: too few", planned, leaves, checked)
	}
	t.Logf("%d types planned, %d leaves, %d values checked against the plan", planned, leaves, checked)
}

// FuzzPlan explores the types and values TestPlanMatchesEncodingJSON
// generates (go test -fuzz FuzzPlan ./internal/jsonenc/).
func FuzzPlan(f *testing.F) {
	for seed := range uint64(8) {
		f.Add(seed, seed*7)
	}
	f.Fuzz(func(t *testing.T, a, b uint64) {
		checkGenerated(t, rand.New(rand.NewPCG(a, b)), "")
	})
}

// checkGenerated generates a struct type and values of it, and checks the
// plan and the codec against encoding/json for each; it returns how many
// values were checked against the plan, and whether the type has one.
func checkGenerated(t *testing.T, r *rand.Rand, name string) (int, bool) {
	t.Helper()
	checked := 0
	st := genStruct(r, 0)
	p := planFor(st)
	c := New(st, "  ")
	c.SetTreeThreshold(0)
	v := reflect.New(st).Elem()
	var tree *Tree
	for val := range 12 {
		genValue(r, v, 0)
		where := fmt.Sprintf("%s %v value %d", name, st, val)
		want, werr := jt.Encoding(v.Addr().Interface(), "  ")
		if werr == nil {
			werr = json.Unmarshal(want, reflect.New(st).Interface())
		}
		next, _, err := c.Sync(tree, v)
		if werr != nil {
			if err == nil {
				t.Fatalf("%s: encoding/json fails (%v), Sync does not", where, werr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: Sync: %v", where, err)
		}
		tree = next
		got, err := c.Append(nil, tree, nil, nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: the codec writes\n%s (%v)\nencoding/json writes\n%s", where, got, err, want)
		}
		if p == nil {
			continue
		}
		var names []string
		for i := range p.fields {
			f := &p.fields[i]
			if !f.omitted(v.Field(f.index)) {
				names = append(names, f.name)
			}
		}
		if keys := topKeys(t, want); !slices.Equal(names, keys) {
			t.Fatalf("%s: the plan writes members %q, encoding/json %q\n%s", where, names, keys, want)
		}
		checked++
	}
	return checked, p != nil
}
