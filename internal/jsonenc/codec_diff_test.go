package jsonenc

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

// The differential test of the encoder: updates chosen by the input change
// a document of one of the types in codec_difftypes_test.go in place (deep
// inside, through aliases kept from earlier updates, through backing
// arrays several slices share, set and set back), some of them then fail
// or panic, and the codec is driven as the store drives it (SaveForUndo,
// the function, Sync, the undo on failure). After every step Append must
// write exactly what encoding/json writes for the value the last
// successful function left, and a failed one must leave the value exactly
// as it was (unexported fields included).
//
// FuzzCodecDiff explores (go test -fuzz FuzzCodecDiff ./internal/jsonenc/); its
// corpus is in testdata/fuzz/FuzzCodecDiff. TestCodecDiffSeeded runs a
// fixed set of seeds in plain go test.

func FuzzCodecDiff(f *testing.F) {
	for seed := range uint64(8) {
		f.Add(seededInput(seed, 400))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<12 {
			return
		}
		runDiff(t, &fzIn{data: data}, 64)
	})
}

// TestCodecDiffSeeded is the fuzzer's CI run: at least 5,000 updates over
// every type, encoder choice and indentation.
func TestCodecDiffSeeded(t *testing.T) {
	total := 0
	for seed := uint64(0); total < 5200; seed++ {
		total += runDiff(t, &fzIn{data: seededInput(seed, 1500)}, 100)
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
	t.Logf("%d updates, 0 mismatches", total)
}

func seededInput(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x17))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	// The first bytes pick type, encoder and indentation: cover them all.
	b[0], b[1] = byte(seed), byte(seed/uint64(len(diffTypes)))
	return b
}

// fzIn reads choices from the input; past its end every choice is 0.
type fzIn struct {
	data []byte
	pos  int
}

func (in *fzIn) n(k int) int {
	if in.pos >= len(in.data) {
		in.pos++
		return 0
	}
	b := in.data[in.pos]
	in.pos++
	return int(b) % k
}

func (in *fzIn) done() bool { return in.pos >= len(in.data) }

var diffTypes = []func(t *testing.T, in *fzIn, tree bool, indent string, max int) int{
	diffRun[fzDoc],
	diffRun[fzEmbDoc],
	diffRun[fzNest],
	diffRun[fzMapOfMaps],
	diffRun[fzMMDoc],
	diffRun[fzItemMap],
	diffRun[fzItems],
	diffRun[fzExactDoc],
	diffRun[fzExactMap],
}

// runDiff runs the input and returns the number of updates it made.
func runDiff(t *testing.T, in *fzIn, max int) int {
	typ := in.n(len(diffTypes))
	mode := in.n(6)
	indent := []string{"  ", "\t", ""}[mode%3]
	return diffTypes[typ](t, in, mode < 3, indent, max)
}

var errFz = errors.New("the update function refused")

const fzPanic = "the update function panicked"

func diffRun[T any](t *testing.T, in *fzIn, tree bool, indent string, max int) int {
	t.Helper()
	c := New(reflect.TypeFor[T](), indent)
	if tree {
		c.SetTreeThreshold(0)
		// Most runs splice every map, even small ones, from blocks of a
		// few members (see mapCache): keys across block edges, members
		// that come and go at them.
		if k := in.n(4); k > 0 {
			c.SetMapCache(1+k%2, []int{0, 1, 24, 200}[k])
		}
	}
	var doc T
	v := reflect.ValueOf(&doc).Elem()
	enc, _, err := c.Sync(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	model := fingerprint(v)
	cur, err := storeEncoding(&doc, indent)
	if err != nil {
		t.Fatal(err)
	}
	mut := &fzMut{in: in}
	where := fmt.Sprintf("%T tree=%v indent=%q", doc, tree, indent)
	steps := 0
	for ; steps < max && !in.done(); steps++ {
		end := in.n(10) // 0: refuse, 1: panic, else succeed
		nops := 1 + in.n(4)
		var endFP string
		var endEnc []byte
		var encErr error
		fn := func(d *T) error {
			defer func() {
				if p := recover(); p != nil {
					if p == fzPanic {
						panic(p)
					}
					panic(fmt.Sprintf("the test's mutator: %v\n%s", p, debug.Stack()))
				}
			}()
			v := reflect.ValueOf(d).Elem()
			for range nops {
				switch in.n(8) {
				case 0: // set, then set back
					save := cloneValue(v)
					mut.mutate(v, 0)
					mut.mutate(v, 0)
					v.Set(save)
				default:
					mut.mutate(v, 0)
				}
			}
			switch end {
			case 0:
				return errFz
			case 1:
				panic(fzPanic)
			}
			endFP = fingerprint(v)
			endEnc, encErr = storeEncoding(d, indent)
			if encErr == nil {
				// What encoding/json cannot read back, the codec refuses.
				encErr = json.Unmarshal(endEnc, new(T))
			}
			return nil
		}
		step := fmt.Sprintf("%s step %d (end %d)", where, steps, end)
		if got := fingerprint(v); got != model {
			t.Fatalf("%s: the function sees\n%s\nwant\n%s", step, got, model)
		}
		// What the store does for one update: save for the undo, run
		// the function, sync, and undo if either failed.
		undo := c.SaveForUndo(enc, v)
		var panicked any
		var changed bool
		func() {
			// A marshaler may panic in Sync too: the store undoes that
			// update as it undoes one whose function panicked.
			defer func() { panicked = recover() }()
			if err = fn(&doc); err != nil {
				return
			}
			var next *Tree
			next, changed, err = c.Sync(enc, v)
			if err == nil {
				enc = next
			}
		}()
		if err != nil || panicked != nil {
			if uerr := undo(); uerr != nil {
				t.Fatalf("%s: undo: %v", step, uerr)
			}
			if got := fingerprint(v); got != model {
				t.Fatalf("%s: after the undo the value is\n%s\nwant\n%s", step, got, model)
			}
		}
		switch {
		case end == 0:
			if !errors.Is(err, errFz) || panicked != nil {
				t.Fatalf("%s: err = %v, panic %v; want the function's error", step, err, panicked)
			}
		case end == 1:
			if panicked != fzPanic {
				t.Fatalf("%s: panic %v, err %v; want the function's panic", step, panicked, err)
			}
		case encErr != nil:
			if err == nil && panicked == nil {
				t.Fatalf("%s: encoding/json fails (%v) but Sync succeeded", step, encErr)
			}
		default:
			if err != nil || panicked != nil {
				t.Fatalf("%s: Sync: %v, panic %v", step, err, panicked)
			}
			if !changed && !bytes.Equal(endEnc, cur) {
				t.Fatalf("%s: Sync reports no change, but encoding/json writes\n%s\nafter\n%s", step, endEnc, cur)
			}
			model, cur = endFP, endEnc
		}
		checkDiffDoc(t, c, enc, step, cur)
	}
	return steps
}

// checkDiffDoc checks what the codec writes against encoding/json's bytes
// want, and that encoding/json reads them back.
func checkDiffDoc(t *testing.T, c *Codec, tree *Tree, step string, want []byte) {
	t.Helper()
	got, err := c.Append(nil, tree, nil, nil)
	if err != nil {
		t.Fatalf("%s: Append: %v", step, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: the codec writes\n%s\nencoding/json writes\n%s", step, got, want)
	}
	if _, err := c.Append([]byte("x"), tree, nil, nil); err != nil {
		t.Fatalf("%s: Append after other bytes: %v", step, err)
	}
}

// storeEncoding is the store's format, made by encoding/json alone:
// json.Marshal of the pointer without HTML escaping, a nil root map as
// {}, indented (or not) and a newline.
func storeEncoding(v any, indent string) (b []byte, err error) {
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

// fingerprint writes down everything in v, unexported fields included, so
// that two values print alike exactly when they are deeply equal. It is
// the test's own, independent of the store's deep copy.
func fingerprint(v reflect.Value) string {
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
