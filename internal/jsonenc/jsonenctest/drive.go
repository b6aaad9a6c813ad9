// Package jsonenctest is the differential test of package jsonenc, shared
// by the packages that test it: jsonenc drives a Codec directly, and store
// drives one through Store.Update and its file. Both run the same inputs
// over the same family of types (types.go) with the same mutator
// (mut.go), and compare every document with encoding/json's.
//
// An input's bytes choose everything: the root type, the encoder's path
// and indentation, then for each update the mutations (in place, through
// aliases, through shared slices and maps, in unexported fields), and
// whether the function succeeds, refuses or panics. Past its end every
// choice is 0. A failed update must leave the value exactly as it was
// (unexported fields included), and after every step the document must be
// byte for byte what encoding/json writes for the value the last
// successful function left.
package jsonenctest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
)

// In reads choices from an input; past its end every choice is 0.
type In struct {
	data []byte
	pos  int
	root reflect.Type // the root type Mode chose
}

// NewIn returns an In reading data.
func NewIn(data []byte) *In { return &In{data: data} }

// N returns the next choice, in [0, k).
func (in *In) N(k int) int { return in.n(k) }

func (in *In) n(k int) int {
	if in.pos >= len(in.data) {
		in.pos++
		return 0
	}
	b := in.data[in.pos]
	in.pos++
	return int(b) % k
}

// Done reports whether the input is used up.
func (in *In) Done() bool { return in.pos >= len(in.data) }

func (in *In) done() bool { return in.Done() }

// Roots are the root types the differential test picks from, in the order
// of an input's first choice. Each package under test lists a driver for
// every one of them (see Dispatch).
var Roots = []reflect.Type{
	reflect.TypeFor[fzDoc](),
	reflect.TypeFor[fzEmbDoc](),
	reflect.TypeFor[fzNest](),
	reflect.TypeFor[fzMapOfMaps](),
	reflect.TypeFor[fzMMDoc](),
	reflect.TypeFor[fzItemMap](),
	reflect.TypeFor[fzItems](),
	reflect.TypeFor[fzExactDoc](),
	reflect.TypeFor[fzExactMap](),
}

// The roots and the types other tests name, by exported names.
type (
	Doc       = fzDoc
	EmbDoc    = fzEmbDoc
	Nest      = fzNest
	MapOfMaps = fzMapOfMaps
	MMDoc     = fzMMDoc
	ItemMap   = fzItemMap
	Items     = fzItems
	ExactDoc  = fzExactDoc
	ExactMap  = fzExactMap
	ExactSub  = fzExactSub
	Leaf      = fzLeaf
	Item      = fzItem
	Hidden    = fzHidden
	Marshal   = fzMarshal
	Text      = fzText
)

// SeededInput is an input of n bytes from seed, whose first bytes cover
// every root type, encoder and indentation as seed grows.
func SeededInput(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x17))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[0], b[1] = byte(seed), byte(seed/uint64(len(Roots)))
	return b
}

// Mode reads the input's first choices: the root type (an index into
// Roots), whether the encoder keeps a tree from the start (rather than
// encode whole until the document is large), and the indentation.
func Mode(in *In) (root int, tree bool, indent string) {
	root = in.n(len(Roots))
	in.root = Roots[root]
	mode := in.n(6)
	return root, mode < 3, []string{"  ", "\t", ""}[mode%3]
}

// A Driver runs an input on one root type, as chosen by Mode, in the
// package under test (which sets up its Subject and calls Drive), and
// returns how many updates it ran.
type Driver func(t *testing.T, in *In, tree bool, indent string, max int) int

// Dispatch reads the input's mode and runs it with the driver of its root
// type: drivers has one for each of Roots, in order.
func Dispatch(t *testing.T, in *In, max int, drivers []Driver) int {
	if len(drivers) != len(Roots) {
		t.Fatalf("%d drivers for %d root types", len(drivers), len(Roots))
	}
	root, tree, indent := Mode(in)
	return drivers[root](t, in, tree, indent, max)
}

// Fuzz is the fuzz target of the differential test (FuzzCodecDiff in
// each package under test).
func Fuzz(f *testing.F, drivers []Driver) {
	for seed := range uint64(8) {
		f.Add(SeededInput(seed, 400))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<12 {
			return
		}
		Dispatch(t, NewIn(data), 64, drivers)
	})
}

// Seeded is the fuzzer's CI run: at least 5,000 updates over every root
// type, encoder choice and indentation.
func Seeded(t *testing.T, drivers []Driver) {
	total := 0
	for seed := uint64(0); total < 5200; seed++ {
		total += Dispatch(t, NewIn(SeededInput(seed, 1500)), 100, drivers)
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
	t.Logf("%d updates, 0 mismatches", total)
}

// MapCache reads the next choice: most runs that keep a tree splice every
// map, even small ones, from blocks of a few members (see
// jsonenc.Codec.SetMapCache), so that keys cross block edges and members
// come and go at them. ok is false for the codec's defaults.
func MapCache(in *In) (minMembers, blockSize int, ok bool) {
	k := in.n(4)
	if k == 0 {
		return 0, 0, false
	}
	return 1 + k%2, []int{0, 1, 24, 200}[k], true
}

// ErrRefused is what an update function returns when the input makes it
// refuse.
var ErrRefused = errors.New("the update function refused")

// Panic is what an update function panics with when the input makes it
// panic.
const Panic = "the update function panicked"

// Subject is what the test drives: the package under test, holding one
// document of type T.
type Subject[T any] interface {
	// Update runs fn as one update, as the package does: fn changes the
	// document in place; if it fails or panics (and Update reports the
	// panic, not raise it), or the document does not encode, the document
	// must be left as it was. changed is false when the package reports
	// that the encoding did not change.
	Update(fn func(*T) error) (changed bool, panicked any, err error)
	// Check fails t unless the document is want, encoding/json's
	// encoding of the value the last successful update left. wrote
	// reports whether a successful update has changed that encoding.
	Check(t *testing.T, step string, want []byte, wrote bool)
}

// Run is how Drive runs an input.
type Run struct {
	Where  string // names the run in failures
	Indent string // the subject's indentation ("" for compact)
	Max    int    // the most updates to run
	// DeepCopy copies a value exactly (the package's own copy): the
	// mutator sets a value back to it, which must change nothing.
	DeepCopy func(reflect.Value) reflect.Value
}

// Drive runs the input's updates on s, which holds the zero T, and
// returns how many it ran.
func Drive[T any](t *testing.T, in *In, s Subject[T], r Run) int {
	t.Helper()
	if in.root != nil && in.root != reflect.TypeFor[T]() {
		t.Fatalf("the input chose the root %v, the driver drives %v", in.root, reflect.TypeFor[T]())
	}
	var zero T
	model := Fingerprint(reflect.ValueOf(&zero).Elem())
	indent := r.Indent
	cur, err := Encoding(&zero, indent)
	if err != nil {
		t.Fatal(err)
	}
	mut := &fzMut{in: in}
	wrote := false
	steps := 0
	for ; steps < r.Max && !in.done(); steps++ {
		end := in.n(10) // 0: refuse, 1: panic, else succeed
		nops := 1 + in.n(4)
		var startFP, endFP string
		var endEnc []byte
		var encErr error
		fn := func(d *T) error {
			defer func() {
				if p := recover(); p != nil {
					if p == Panic {
						panic(p)
					}
					panic(fmt.Sprintf("the test's mutator: %v\n%s", p, debug.Stack()))
				}
			}()
			v := reflect.ValueOf(d).Elem()
			startFP = Fingerprint(v)
			for range nops {
				switch in.n(8) {
				case 0: // set, then set back
					save := r.DeepCopy(v)
					mut.mutate(v, 0)
					mut.mutate(v, 0)
					v.Set(save)
				default:
					mut.mutate(v, 0)
				}
			}
			switch end {
			case 0:
				return ErrRefused
			case 1:
				panic(Panic)
			}
			endFP = Fingerprint(v)
			endEnc, encErr = Encoding(d, indent)
			if encErr == nil {
				// What encoding/json cannot read back, the codec refuses.
				encErr = json.Unmarshal(endEnc, new(T))
			}
			return nil
		}
		changed, panicked, err := s.Update(fn)
		step := fmt.Sprintf("%s step %d (end %d)", r.Where, steps, end)
		if startFP != model {
			t.Fatalf("%s: the function saw\n%s\nwant\n%s", step, startFP, model)
		}
		switch {
		case end == 0:
			if !errors.Is(err, ErrRefused) || panicked != nil {
				t.Fatalf("%s: err = %v, panic %v; want the function's error", step, err, panicked)
			}
		case end == 1:
			if panicked != Panic {
				t.Fatalf("%s: panic %v, err %v; want the function's panic", step, panicked, err)
			}
		case encErr != nil:
			if err == nil && panicked == nil {
				t.Fatalf("%s: encoding/json fails (%v) but the update succeeded", step, encErr)
			}
		default:
			if err != nil || panicked != nil {
				t.Fatalf("%s: err = %v, panic %v", step, err, panicked)
			}
			if !changed && !bytes.Equal(endEnc, cur) {
				t.Fatalf("%s: no change reported, but encoding/json writes\n%s\nafter\n%s", step, endEnc, cur)
			}
			if !bytes.Equal(endEnc, cur) {
				wrote = true
			}
			model, cur = endFP, endEnc
		}
		s.Check(t, step, cur, wrote)
	}
	return steps
}

// Encoding is the store's format, made by encoding/json alone:
// json.Marshal of the pointer v without HTML escaping, a nil root map as
// {}, indented (or not) and a newline.
func Encoding(v any, indent string) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("encoding/json panicked: %v", p)
		}
	}()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	doc := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if reflect.TypeOf(v).Elem().Kind() == reflect.Map && string(doc) == "null" {
		doc = []byte("{}")
	}
	if indent == "" {
		return append(slices.Clone(doc), '\n'), nil
	}
	var out bytes.Buffer
	if err := json.Indent(&out, doc, "", indent); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// Fingerprint writes down everything in v, unexported fields included, so
// that two values print alike exactly when they are deeply equal. It is
// the test's own, independent of the package's deep copy.
func Fingerprint(v reflect.Value) string {
	var b strings.Builder
	fp(&b, v, 0)
	return b.String()
}

func fp(b *strings.Builder, v reflect.Value, depth int) {
	if depth > 40 {
		b.WriteString("…")
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		fmt.Fprint(b, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		fmt.Fprint(b, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		fmt.Fprint(b, v.Uint())
	case reflect.Float32, reflect.Float64:
		fmt.Fprintf(b, "f%x", math.Float64bits(v.Float()))
	case reflect.String:
		fmt.Fprintf(b, "%q", v.String())
	case reflect.Pointer:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		if v.Type().Elem() == reflect.TypeFor[time.Location]() {
			fmt.Fprintf(b, "loc(%p)", v.UnsafePointer())
			return
		}
		b.WriteString("&")
		fp(b, v.Elem(), depth+1)
	case reflect.Interface:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		fmt.Fprintf(b, "(%v)", v.Elem().Type())
		fp(b, v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			b.WriteString("nil")
			return
		}
		b.WriteString("[")
		for i := range v.Len() {
			fp(b, v.Index(i), depth+1)
			b.WriteString(",")
		}
		b.WriteString("]")
	case reflect.Map:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		var ents []string
		it := v.MapRange()
		for it.Next() {
			var e strings.Builder
			fp(&e, it.Key(), depth+1)
			e.WriteString(":")
			fp(&e, it.Value(), depth+1)
			ents = append(ents, e.String())
		}
		slices.Sort(ents)
		fmt.Fprintf(b, "map%v", ents)
	case reflect.Struct:
		b.WriteString("{")
		for i := range v.NumField() {
			b.WriteString(v.Type().Field(i).Name + ":")
			fp(b, v.Field(i), depth+1)
			b.WriteString(" ")
		}
		b.WriteString("}")
	default:
		fmt.Fprintf(b, "<%v>", v.Kind())
	}
}
