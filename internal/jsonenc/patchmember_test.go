package jsonenc

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// BenchmarkCatchUp: what a writer of the store's log mode among 4
// processes does with the patches of the other 3 before its own change
// (one member of the 1000-key benchmark document each), through
// ApplyMergePatch and one Sync (plain), or PatchMembers.
func BenchmarkCatchUp(b *testing.B) {
	for _, keys := range []int{1000, 10000} {
		for _, members := range []bool{false, true} {
			b.Run(fmt.Sprintf("keys=%d/%s", keys, map[bool]string{false: "plain", true: "members"}[members]), func(b *testing.B) {
				benchCatchUp(b, keys, members)
			})
		}
	}
}

func benchCatchUp(b *testing.B, keys int, members bool) {
	{
		{
			c := New(reflect.TypeFor[benchDoc](), "  ")
			c.PreferTree()
			doc := newBenchDoc(keys)
			v := reflect.ValueOf(&doc).Elem()
			tree, _, err := c.Sync(nil, v)
			if err != nil {
				b.Fatal(err)
			}
			for range 2 { // the table copy is taken once the map is steady
				tree, _, _ = c.Sync(tree, v)
			}
			i := 0
			for b.Loop() {
				for range 3 {
					i++
					patch := fmt.Appendf(nil, `{"entries":{%q:{"hits":%d}}}`, benchKey(i*7919%keys), i)
					if members {
						t, _, handled, err := c.PatchMembers(tree, v, patch)
						if err != nil || !handled {
							b.Fatal(err, handled)
						}
						tree = t
					} else if err := c.ApplyMergePatch(v, patch); err != nil {
						b.Fatal(err)
					}
				}
				if !members {
					t, _, err := c.Sync(tree, v)
					if err != nil {
						b.Fatal(err)
					}
					tree = t
				}
			}
		}
	}
}

// runPatchMembersDiff drives PatchMembers against the plain path
// (ApplyMergePatch, then Sync) with the choices next(n) in [0, n) makes:
// patches of members the maps hold (which PatchMembers must take), and
// patches it must refuse untouched (a new member, a deletion, another
// field, a value of the wrong kind), some of them failing, with changes
// by hand on both sides between them. After each step both sides must
// hold the same document, both trees must write encoding/json's bytes,
// and a failure on one side must be one on the other. It returns how
// many patches PatchMembers took.
func runPatchMembersDiff(t *testing.T, next func(n int) int, steps int) (took int) {
	c := New(reflect.TypeFor[memDoc](), "  ")
	c.SetTreeThreshold(0)
	var a, b memberSide
	names := make([]string, 24)
	for i := range names {
		names[i] = fmt.Sprintf("k%02d", i)
	}
	load := func(s *memberSide, data []byte) {
		s.doc = memDoc{}
		if err := json.Unmarshal(data, &s.doc); err != nil {
			t.Fatal(err)
		}
		s.v = reflect.ValueOf(&s.doc).Elem()
		tree, _, err := c.Sync(nil, s.v)
		if err != nil {
			t.Fatal(err)
		}
		s.tree = tree
	}
	start := memDoc{Entries: map[string]memRec{}, Tags: map[string]string{}}
	for i := range 20 {
		start.Entries[names[i]] = memRec{Name: fmt.Sprint("entry ", i), N: int64(i)}
		start.Tags[names[i]] = fmt.Sprint(i)
	}
	first, _ := json.Marshal(&start)
	load(&a, first)
	load(&b, first)
	key := func() string { return names[next(len(names))] }
	value := func() string {
		switch next(9) {
		case 0:
			return fmt.Sprintf(`{"n":%d}`, next(100))
		case 1:
			return fmt.Sprintf(`{"name":"x%d","on":%v}`, next(5), next(2) == 0)
		case 2:
			return fmt.Sprintf(`{"f":%d.5,"n":%d}`, next(10), next(10))
		case 3:
			return `{}`
		case 4:
			return fmt.Sprintf(`{"name":"whole %d","n":1,"f":2,"on":true}`, next(5))
		case 5:
			return `{"n":"not a number"}` // fails on both sides
		case 6:
			return `{"on":null}` // a member null inside the member's patch
		case 7:
			return `null` // a deletion: refused
		default:
			return fmt.Sprintf(`{"unknown":%d}`, next(3))
		}
	}
	behind := false // a's tree does not describe a's value yet
	for step := range steps {
		before, _ := json.Marshal(&b.doc)
		var patch []byte
		switch op := next(10); {
		case op < 6: // members of entries (and maybe of tags)
			var members []string
			for range 1 + next(3) {
				members = append(members, fmt.Sprintf("%q:%s", key(), value()))
			}
			patch = fmt.Appendf(nil, `{"entries":{%s}}`, strings.Join(members, ","))
			if next(3) == 0 {
				patch = fmt.Appendf(nil, `{"entries":{%s},"tags":{%q:"t%d"}}`, strings.Join(members, ","), key(), next(4))
			}
		case op == 6:
			patch = fmt.Appendf(nil, `{"tags":{%q:%d}}`, key(), next(3)) // a number for a string: fails
		case op == 7:
			patch = fmt.Appendf(nil, `{"title":"t%d"}`, step)
		case op == 8:
			patch = []byte([]string{`{"entries":null}`, `{"entries":5}`, `{"entries":{}}`, `{}`, `{"entries":{"k01":{"n":1}}`, `[]`}[next(6)])
		default: // by hand, on both sides, then Sync (which a tree behind needs first)
			if behind {
				nt, _, err := c.Sync(a.tree, a.v)
				if err != nil {
					t.Fatal(err)
				}
				a.tree, behind = nt, false
			}
			k := key()
			for _, s := range []*memberSide{&a, &b} {
				if s.doc.Entries == nil {
					s.doc.Entries = map[string]memRec{}
				}
				switch next(3) {
				case 0:
					delete(s.doc.Entries, k)
				case 1:
					s.doc.Entries[k] = memRec{Name: "by hand", N: int64(step)}
				default:
					s.doc.Title = fmt.Sprint("title ", step)
				}
				nt, _, err := c.Sync(s.tree, s.v)
				if err != nil {
					t.Fatal(err)
				}
				s.tree = nt
			}
			if !reflect.DeepEqual(a.doc, b.doc) {
				// The choices differ per side: make them alike again.
				load(&a, before)
				load(&b, before)
			}
			behind = false
			continue
		}
		at, achanged, handled, aerr := c.PatchMembers(a.tree, a.v, patch)
		if !handled {
			if aerr != nil || at != a.tree || achanged {
				t.Fatalf("step %d: PatchMembers refused %s but changed something (err %v)", step, patch, aerr)
			}
			if cur, _ := json.Marshal(&a.doc); !bytes.Equal(cur, before) {
				t.Fatalf("step %d: PatchMembers refused %s but changed the document", step, patch)
			}
			aerr = c.ApplyMergePatch(a.v, patch)
			at = a.tree
			if aerr == nil && next(2) == 0 {
				// Left behind until a later step, as the store's catch-up
				// leaves the tree after a patch PatchMembers refused and
				// Syncs once after the last: PatchMembers may meet a tree
				// that does not describe the map.
				behind = true
			} else if aerr == nil {
				at, achanged, aerr = c.Sync(a.tree, a.v)
			}
		} else {
			took++
		}
		berr := c.ApplyMergePatch(b.v, patch)
		var bt *Tree
		var bchanged bool
		if berr == nil {
			bt, bchanged, berr = c.Sync(b.tree, b.v)
		}
		if (aerr == nil) != (berr == nil) {
			t.Fatalf("step %d: %s: PatchMembers (handled %v) says %v, the plain path %v", step, patch, handled, aerr, berr)
		}
		if aerr != nil {
			// Both may be partly patched: both are read again, as the
			// store does.
			load(&a, before)
			load(&b, before)
			behind = false
			continue
		}
		a.tree, b.tree = at, bt
		if !reflect.DeepEqual(a.doc, b.doc) {
			t.Fatalf("step %d: %s: PatchMembers made\n%+v\nthe plain path\n%+v", step, patch, a.doc, b.doc)
		}
		if behind && next(3) != 0 {
			continue
		}
		if behind {
			nt, _, err := c.Sync(a.tree, a.v)
			if err != nil {
				t.Fatal(err)
			}
			a.tree, behind, achanged = nt, false, bchanged
		}
		if achanged != bchanged {
			t.Fatalf("step %d: %s: PatchMembers says changed=%v, the plain path %v", step, patch, achanged, bchanged)
		}
		if !reflect.DeepEqual(a.doc, b.doc) {
			t.Fatalf("step %d: %s: PatchMembers made\n%+v\nthe plain path\n%+v", step, patch, a.doc, b.doc)
		}
		want, _ := json.MarshalIndent(&b.doc, "", "  ")
		for name, s := range map[string]*memberSide{"PatchMembers": &a, "plain": &b} {
			got, err := c.Append(nil, s.tree, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(bytes.TrimSpace(got), want) {
				t.Fatalf("step %d: %s: the %s side writes\n%.400s\nencoding/json writes\n%.400s", step, patch, name, got, want)
			}
		}
		// And the tree PatchMembers left is one Sync agrees with.
		if nt, changed, err := c.Sync(a.tree, a.v); err != nil || changed {
			t.Fatalf("step %d: %s: a Sync after PatchMembers found changed=%v (%v)", step, patch, changed, err)
		} else {
			a.tree = nt
		}
	}
	return took
}

func TestPatchMembersDiff(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "table", false: "walk"}[on], func(t *testing.T) {
			defer setTablePeek(on)()
			for seed := range uint64(10) {
				if took := runPatchMembersDiff(t, choices(rand.New(rand.NewPCG(seed, 23)), nil), 400); took < 60 {
					t.Errorf("seed %d: PatchMembers took only %d patches in 400 steps", seed, took)
				}
			}
		})
	}
}

func FuzzPatchMembers(f *testing.F) {
	for seed := range uint64(4) {
		b := binary.LittleEndian.AppendUint64(nil, seed*0x9e3779b97f4a7c15)
		f.Add(append(b, b...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runPatchMembersDiff(t, choices(nil, data), len(data)/2+1)
	})
}

// FuzzPatchMembersBytes: any patch at all, as another process's record
// could hold, against the plain path on the same document.
func FuzzPatchMembersBytes(f *testing.F) {
	for _, p := range []string{`{"entries":{"k01":{"n":2}}}`, `{"entries":{"k01":{"n":2},"k01":{"f":1}},"tags":{"k02":"x"}}`, `{"entries":{"k01":null}}`, `{"entries":{"zz":{}}}`, `{"entries":{"k01":{"n":"x"}}}`, `{"tags":{"k03":{"a":1}}}`, `{"entries":{"k\u00301":{"on":true}}}`} {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, patch []byte) {
		c := New(reflect.TypeFor[memDoc](), "")
		c.SetTreeThreshold(0)
		mk := func() (*memDoc, reflect.Value, *Tree) {
			d := &memDoc{Entries: map[string]memRec{}, Tags: map[string]string{}}
			for i := range 8 {
				d.Entries[fmt.Sprintf("k%02d", i)] = memRec{Name: fmt.Sprint(i), N: int64(i)}
				d.Tags[fmt.Sprintf("k%02d", i)] = fmt.Sprint(i)
			}
			v := reflect.ValueOf(d).Elem()
			tree, _, err := c.Sync(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			return d, v, tree
		}
		ad, av, atree := mk()
		bd, bv, btree := mk()
		at, _, handled, aerr := c.PatchMembers(atree, av, patch)
		if !handled {
			return
		}
		berr := c.ApplyMergePatch(bv, patch)
		if berr == nil {
			btree, _, berr = c.Sync(btree, bv)
		}
		if (aerr == nil) != (berr == nil) {
			t.Fatalf("%s: PatchMembers says %v, the plain path %v", patch, aerr, berr)
		}
		if aerr != nil {
			return
		}
		if !reflect.DeepEqual(ad, bd) {
			t.Fatalf("%s: PatchMembers made %+v, the plain path %+v", patch, ad, bd)
		}
		ga, _ := c.Append(nil, at, nil, nil)
		gb, _ := c.Append(nil, btree, nil, nil)
		if !bytes.Equal(ga, gb) {
			t.Fatalf("%s: the trees write\n%s\nand\n%s", patch, ga, gb)
		}
	})
}
