package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable/vfs"
)

// The incremental encoder must write exactly what encoding/json writes:
// json.Marshal of a pointer to the document (without HTML escaping), the
// unknown fields spliced in, then json.Indent. These tests drive random
// updates through a Store and compare every file with that oracle, computed
// from a model to which the same changes were applied.

type propInner struct {
	A int     `json:"a"`
	B string  `json:"b,omitempty"`
	F float64 `json:"f"`
}

type valueMarshaler struct{ X int }

func (v valueMarshaler) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"x":%d,"twice":%d}`, v.X, 2*v.X), nil
}

func (v *valueMarshaler) UnmarshalJSON(b []byte) error {
	var w struct{ X int }
	err := json.Unmarshal(b, &w)
	v.X = w.X
	return err
}

type ptrMarshaler struct{ Y string }

func (p *ptrMarshaler) MarshalText() ([]byte, error) { return []byte("y=" + p.Y), nil }

func (p *ptrMarshaler) UnmarshalText(b []byte) error {
	p.Y = strings.TrimPrefix(string(b), "y=")
	return nil
}

type zeroer struct{ V int }

func (z zeroer) IsZero() bool { return z.V == 7 } // a zero that is not the zero value

type propDoc struct {
	S       string                    `json:"s"`
	N       int64                     `json:"n,omitempty"`
	U       uint8                     `json:"u"`
	B       bool                      `json:"b,omitzero"`
	F32     float32                   `json:"f32"`
	F64     float64                   `json:"f64,omitempty"`
	Tags    []string                  `json:"tags"`
	Bytes   []byte                    `json:"bytes,omitempty"`
	M       map[string]propInner      `json:"m"`
	MM      map[string]map[string]int `json:"mm,omitempty"`
	P       *propInner                `json:"p"`
	Any     any                       `json:"any"`
	T       time.Time                 `json:"t"`
	TZ      time.Time                 `json:"tz,omitzero"`
	Inner   propInner                 `json:"inner"`
	Raw     json.RawMessage           `json:"raw,omitempty"`
	Arr     [3]int                    `json:"arr"`
	Val     valueMarshaler            `json:"val"`
	PtrText ptrMarshaler              `json:"ptr_text"`
	PtrMap  map[string]*ptrMarshaler  `json:"ptr_map,omitempty"`
	Z       zeroer                    `json:"z,omitzero"`
	Weird   string                    `json:"we<i>rd&"`
	NoTag   int
	Dash    int `json:"-"`
	//lint:ignore SA5008 encoding/json names this field "-": the encoder must too
	DashKey int `json:"-,"`
	//lint:ignore SA5008 an invalid tag name, which encoding/json ignores: the encoder must too
	Invalid int `json:"a\\b"`
	hidden  int
}

// An embedded field makes the root a leaf: the slow path, same output.
type Base struct {
	ID   string `json:"id"`
	Kind string `json:"kind,omitempty"`
}

type embDoc struct {
	Base
	Name  string            `json:"name"`
	Items map[string]string `json:"items"`
}

var fixedZone = time.FixedZone("X", 5*3600+1800)

func randString(r *rand.Rand) string {
	alphabet := []string{"a", "b", "Z", " ", "é", "日本", "<", ">", "&", "\"", "\\", "\n", "\u2028", "\x01", "💾"}
	n := r.IntN(8)
	var b strings.Builder
	for range n {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

func randAny(r *rand.Rand, depth int) any {
	switch r.IntN(7) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return float64(r.IntN(1000)) / 8
	case 3:
		return randString(r)
	case 4:
		if depth > 2 {
			return "deep"
		}
		s := []any{}
		for range r.IntN(3) {
			s = append(s, randAny(r, depth+1))
		}
		return s
	default:
		if depth > 2 {
			return 1.5
		}
		m := map[string]any{}
		for range r.IntN(4) {
			m[randString(r)] = randAny(r, depth+1)
		}
		return m
	}
}

// propOp changes d using r; applied twice with equal generators it makes
// the same change without sharing memory between the two documents.
func propOp(d *propDoc, r *rand.Rand) {
	switch r.IntN(24) {
	case 0:
		d.S = randString(r)
	case 1:
		d.N = int64(r.IntN(3)) - 1
	case 2:
		d.U = uint8(r.IntN(256))
	case 3:
		d.B = !d.B
	case 4:
		d.F32 = float32(r.NormFloat64())
	case 5:
		d.F64 = []float64{0, -1.5e300, 1e-7, 123456789.125}[r.IntN(4)]
	case 6:
		switch r.IntN(3) {
		case 0:
			d.Tags = nil
		case 1:
			d.Tags = append(d.Tags, randString(r))
		default:
			if len(d.Tags) > 0 {
				d.Tags[r.IntN(len(d.Tags))] = randString(r)
			} else {
				d.Tags = []string{}
			}
		}
	case 7:
		if r.IntN(3) == 0 {
			d.Bytes = nil
		} else {
			d.Bytes = append(d.Bytes, byte(r.IntN(256)))
		}
	case 8, 9, 10:
		k := fmt.Sprintf("k%d", r.IntN(6))
		switch r.IntN(5) {
		case 0:
			delete(d.M, k)
		case 1:
			if r.IntN(4) == 0 {
				d.M = nil
			} else if d.M == nil {
				d.M = map[string]propInner{}
			}
		default:
			if d.M == nil {
				d.M = map[string]propInner{}
			}
			e := d.M[k]
			e.A += r.IntN(3)
			if r.IntN(2) == 0 {
				e.B = randString(r)
			}
			e.F = float64(r.IntN(5)) / 4
			d.M[k] = e
		}
	case 11:
		k, k2 := fmt.Sprintf("o%d", r.IntN(3)), randString(r)
		switch r.IntN(4) {
		case 0:
			delete(d.MM, k)
		case 1:
			if d.MM[k] != nil {
				delete(d.MM[k], k2)
			}
		default:
			if d.MM == nil {
				d.MM = map[string]map[string]int{}
			}
			if d.MM[k] == nil {
				d.MM[k] = map[string]int{}
			}
			d.MM[k][k2] = r.IntN(100)
		}
	case 12:
		switch r.IntN(3) {
		case 0:
			d.P = nil
		case 1:
			d.P = &propInner{A: r.IntN(9)}
		default:
			if d.P != nil {
				d.P.B = randString(r) // through the pointer: same pointer, new content
			}
		}
	case 13:
		d.Any = randAny(r, 0)
	case 14:
		if m, ok := d.Any.(map[string]any); ok {
			m[randString(r)] = randAny(r, 1) // in place, inside an interface
		}
	case 15:
		d.T = time.Unix(int64(r.IntN(1e9)), int64(r.IntN(1e9))).In([]*time.Location{time.UTC, fixedZone}[r.IntN(2)])
	case 16:
		if r.IntN(2) == 0 {
			d.TZ = time.Time{}
		} else {
			d.TZ = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
		}
	case 17:
		d.Inner.A, d.Inner.B = r.IntN(5), randString(r)
	case 18:
		d.Raw = []json.RawMessage{nil, json.RawMessage(`{ "x" : [1, 2] }`), json.RawMessage(`"s"`), json.RawMessage(`[]`)}[r.IntN(4)]
	case 19:
		d.Arr[r.IntN(3)] = r.IntN(10)
	case 20:
		d.Val.X = r.IntN(4)
	case 21:
		d.PtrText.Y = randString(r)
		if d.PtrMap == nil {
			d.PtrMap = map[string]*ptrMarshaler{}
		}
		d.PtrMap[randString(r)] = &ptrMarshaler{Y: randString(r)}
	case 22:
		d.Z.V = []int{0, 7, 8}[r.IntN(3)]
	case 23:
		d.Weird, d.NoTag, d.DashKey, d.Invalid, d.hidden = randString(r), r.IntN(3), r.IntN(3), r.IntN(3), r.IntN(3)
	}
}

// testMember is a top-level member the store keeps beside T: the schema
// version or an unknown field (raw is its value, compact).
type testMember struct{ key, raw string }

// oracle writes what the store must write for v (a pointer), with the
// schema member and unknown members around it.
func oracle(t *testing.T, v any, indent string, pre, post []testMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("oracle: %v", err)
	}
	doc := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if bytes.Equal(doc, []byte("null")) {
		doc = []byte("{}") // the store writes a nil root map as an empty object
	}
	if len(pre)+len(post) > 0 {
		var b []byte
		b = append(b, '{')
		for _, m := range pre {
			b = append(append(append(append(b, quoteKey(m.key)...), ':'), m.raw...), ',')
		}
		b = append(b, doc[1:len(doc)-1]...)
		for _, m := range post {
			if b[len(b)-1] != ',' && b[len(b)-1] != '{' {
				b = append(b, ',')
			}
			b = append(append(append(b, quoteKey(m.key)...), ':'), m.raw...)
		}
		b = bytes.TrimSuffix(b, []byte(","))
		doc = append(b, '}')
	}
	if indent == "" {
		return append(doc, '\n')
	}
	var out bytes.Buffer
	if err := json.Indent(&out, doc, "", indent); err != nil {
		t.Fatalf("oracle indent: %v", err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func TestCodecMatchesEncodingJSON(t *testing.T) {
	for _, indent := range []string{"  ", "\t", ""} {
		t.Run(fmt.Sprintf("indent=%q", indent), func(t *testing.T) {
			for seed := range uint64(12) {
				runProp(t, seed, indent)
			}
		})
	}
}

func runProp(t *testing.T, seed uint64, indent string) {
	m := vfs.NewMem()
	const name = "/doc.json"
	// Start from a file with unknown fields around known ones.
	start := `{"zzz": {"kept": [1, 2, {"deep": true}]}, "s": "start", "future": "v2 field", "m": {"k1": {"a": 1}}}`
	if err := vfs.WriteFile(m, name, []byte(start), 0o644); err != nil {
		t.Fatal(err)
	}
	opt := &Options[propDoc]{FS: m, Indent: indent, Compact: indent == "", Backups: -1}
	s, err := Open(name, opt)
	if err != nil {
		t.Fatal(err)
	}
	if seed%2 == 0 {
		s.c.enc.SetTreeThreshold(0) // the tree at every size
	}
	model := new(propDoc)
	if err := json.Unmarshal([]byte(start), model); err != nil {
		t.Fatal(err)
	}
	unknown := []testMember{{"zzz", `{"kept":[1,2,{"deep":true}]}`}, {"future", `"v2 field"`}}
	rng := rand.New(rand.NewPCG(seed, 1))
	ctx := context.Background()
	for step := range 150 {
		opSeed := rng.Uint64()
		fail := rng.IntN(8)
		_, err := s.Update(ctx, func(d *propDoc) error {
			propOp(d, rand.New(rand.NewPCG(opSeed, 2)))
			switch fail {
			case 0:
				return errors.New("refused after changing things")
			case 1:
				return ErrNoChange
			}
			return nil
		})
		if fail <= 1 {
			if fail == 0 && err == nil {
				t.Fatalf("seed %d step %d: the failing update succeeded", seed, step)
			}
		} else {
			if err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			propOp(model, rand.New(rand.NewPCG(opSeed, 2)))
		}
		got, err := vfs.ReadFile(m, name)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) == start {
			continue // nothing written yet: still the hand-written start
		}
		want := oracle(t, model, indent, nil, unknown)
		if !bytes.Equal(got, want) {
			t.Fatalf("seed %d step %d: the store wrote\n%s\nencoding/json writes\n%s", seed, step, got, want)
		}
		// The document in memory equals the model (failed changes undone).
		if s.st != nil {
			mine := oracle(t, s.st.val.Addr().Interface(), indent, nil, unknown)
			if !bytes.Equal(mine, want) {
				t.Fatalf("seed %d step %d: the in-memory document drifted:\n%s\nwant\n%s", seed, step, mine, want)
			}
		}
	}
}

// Batches: several requests in one transaction, some failing after
// changing things; the survivors' changes all land, in order, and the
// failures leave no trace.
func TestCodecBatchUndo(t *testing.T) {
	m := vfs.NewMem()
	s, err := Open("/b.json", &Options[propDoc]{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	model := new(propDoc)
	rng := rand.New(rand.NewPCG(7, 7))
	for round := range 60 {
		var batch []*request[propDoc]
		for range 1 + rng.IntN(6) {
			opSeed, fail := rng.Uint64(), rng.IntN(5)
			r := &request[propDoc]{s: s, ctx: context.Background(), fn: func(d *propDoc) error {
				propOp(d, rand.New(rand.NewPCG(opSeed, 3)))
				propOp(d, rand.New(rand.NewPCG(opSeed, 4)))
				switch fail {
				case 0:
					return errors.New("no")
				case 1:
					return ErrNoChange
				case 2:
					panic("boom")
				}
				return nil
			}}
			if fail > 2 {
				propOp(model, rand.New(rand.NewPCG(opSeed, 3)))
				propOp(model, rand.New(rand.NewPCG(opSeed, 4)))
			}
			batch = append(batch, r)
		}
		s.run(batch, func() []*request[propDoc] { return nil })
		got, _ := vfs.ReadFile(m, "/b.json")
		want := oracle(t, model, "  ", nil, nil)
		if round > 0 && !bytes.Equal(got, want) {
			t.Fatalf("round %d: wrote\n%s\nwant\n%s", round, got, want)
		}
		for i, r := range batch {
			if (r.panicked != nil) != (r.err == errPanicked) {
				t.Fatalf("round %d request %d: panic %v, err %v", round, i, r.panicked, r.err)
			}
		}
	}
}

func TestCodecEmbeddedRootIsLeaf(t *testing.T) {
	m := vfs.NewMem()
	vfs.WriteFile(m, "/e.json", []byte(`{"id":"1","extra":[true],"name":"n"}`), 0o644)
	s, err := Open("/e.json", &Options[embDoc]{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(context.Background(), func(d *embDoc) error {
		d.Kind = "k"
		d.Items = map[string]string{"b": "<&>", "a": "1"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := vfs.ReadFile(m, "/e.json")
	want := oracle(t, &embDoc{Base{"1", "k"}, "n", map[string]string{"b": "<&>", "a": "1"}}, "  ", nil,
		[]testMember{{"extra", `[true]`}})
	if !bytes.Equal(got, want) {
		t.Fatalf("wrote\n%s\nwant\n%s", got, want)
	}
}

// A running transaction takes over the batch waiting behind it before it
// writes: one write for all, each function once, in order, and nobody
// answered before the write that holds their change.
func TestStealWaitingBatch(t *testing.T) {
	m := vfs.NewMem()
	s, err := Open("/s.json", &Options[propDoc]{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.Update(ctx, func(d *propDoc) error { d.N = 1; return nil })
	renames := 0
	m.SetHook(func(op vfs.Op, name string) {
		if op == vfs.OpRename && filepath.ToSlash(name) == "/s.json" {
			renames++
		}
	})
	release := make(chan struct{})
	started := make(chan struct{})
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Go(func() {
		s.Update(ctx, func(d *propDoc) error {
			close(started)
			<-release // the others queue up meanwhile
			mu.Lock()
			order = append(order, 0)
			mu.Unlock()
			d.Tags = append(d.Tags, "first")
			return nil
		})
	})
	<-started
	const n = 20
	revs := make([]Rev, n)
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			rev, err := s.Update(ctx, func(d *propDoc) error {
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				d.Tags = append(d.Tags, fmt.Sprint(len(d.Tags)))
				if i == 7 {
					return errors.New("seven fails")
				}
				return nil
			})
			if (err != nil) != (i == 7) {
				t.Errorf("update %d: %v", i, err)
			}
			revs[i-1] = rev
		})
	}
	// Let all twenty join the waiting batch.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if s.waiting() == 20 {
			break
		}
	}
	close(release)
	wg.Wait()
	m.SetHook(nil)
	if renames != 1 {
		t.Fatalf("%d writes for 21 updates started while one ran; want 1 (the waiting batch taken over)", renames)
	}
	if len(order) != n+1 || order[0] != 0 {
		t.Fatalf("order %v", order)
	}
	d, rev, _ := s.Get()
	if len(d.Tags) != n || d.Tags[0] != "first" {
		t.Fatalf("tags %v", d.Tags)
	}
	for i, r := range revs {
		if i != 6 && r != rev {
			t.Fatalf("update %d answered with %v, want the written %v", i+1, r, rev)
		}
	}
}
