package jsonenc

import (
	"bytes"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// setTablePeek turns the table copy (maptable.go) on or off for a test,
// and returns what puts it back.
func setTablePeek(on bool) func() {
	was := tablePeekOK
	tablePeekOK = on && was
	return func() { tablePeekOK = was }
}

// The layout check must pass on the Go release the project builds with:
// otherwise the shortcut is silently off, and the benchmarks lose it.
func TestTablePeekWorks(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 || !slices.ContainsFunc([]string{"go1.24", "go1.25", "go1.26"}, func(v string) bool {
		return strings.HasPrefix(runtime.Version(), v)
	}) {
		t.Skipf("maptable.go knows the maps of 64-bit Go 1.24 to 1.26; this is %s on %s: the walk does the work", runtime.Version(), runtime.GOARCH)
	}
	if !tablePeekWorks() {
		t.Fatal("reading a map's table in place does not agree with reflect on this Go release: update maptable.go's rtMap and rtTable")
	}
}

// The table copy against encoding/json, on the changes that can fool it:
// a member removed and another added in one update (the count stays), keys
// stored again under new strings, a value set to what it was, the map
// replaced by an equal one, grown, cleared, set to nil, and a failed sync
// (the copy must not run ahead of the tree). After each step the
// document must be encoding/json's, with the copy on and off; with it on,
// the map node must hold a copy once the map is steady.
func TestTableCopyDiff(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "table", false: "walk"}[on], func(t *testing.T) {
			defer setTablePeek(on)()
			for _, size := range []int{5, 8, 300, 3000} {
				testTableCopy(t, size, on)
			}
		})
	}
}

func testTableCopy(t *testing.T, size int, on bool) {
	c := New(reflect.TypeFor[benchDoc](), "  ")
	c.SetTreeThreshold(0)
	doc := newBenchDoc(size)
	v := reflect.ValueOf(&doc).Elem()
	root, _, err := c.Sync(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(size), 7))
	key := func() string { return benchKey(rng.IntN(size + size/4 + 1)) }
	steps := []func(){
		func() { // one field
			k := key()
			if e, ok := doc.Entries[k]; ok {
				e.Hits++
				doc.Entries[k] = e
			}
		},
		func() { // a member out, another in: the count stays
			for k := range doc.Entries {
				delete(doc.Entries, k)
				break
			}
			doc.Entries[key()+"x"] = benchEntry{Name: "new"}
		},
		func() { // every key again under a new string, one value changed
			for k, e := range maps.Clone(doc.Entries) {
				doc.Entries[strings.Clone(k)] = e
			}
			k := key()
			if e, ok := doc.Entries[k]; ok {
				e.Value = strings.Clone(e.Value) + "!"
				doc.Entries[k] = e
			}
		},
		func() { // the same value, under a new string
			for k, e := range doc.Entries {
				e.Name = strings.Clone(e.Name)
				doc.Entries[k] = e
				break
			}
		},
		func() { doc.Entries = maps.Clone(doc.Entries) },
		func() { doc.Entries[key()+"g"] = benchEntry{Hits: 1} },
		func() { delete(doc.Entries, key()) },
		func() {
			if rng.IntN(8) == 0 {
				clear(doc.Entries)
			}
		},
		func() {
			if rng.IntN(12) == 0 {
				doc.Entries = nil
			} else if doc.Entries == nil {
				doc.Entries = newBenchDoc(size).Entries
			}
		},
	}
	steady := 0
	for step := range 400 {
		i := rng.IntN(len(steps))
		if step%3 != 0 {
			i = 0
		}
		if doc.Entries == nil && i != len(steps)-1 {
			doc.Entries = map[string]benchEntry{}
		}
		steps[i]()
		next, _, err := c.Sync(root, v)
		if err != nil {
			t.Fatal(err)
		}
		root = next
		want, err := json.MarshalIndent(&doc, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Append(nil, root, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.TrimSpace(got), want) {
			t.Fatalf("size %d step %d (change %d): the codec writes\n%.300s\nencoding/json writes\n%.300s", size, step, i, got, want)
		}
		if m := root.kids[1]; i == 0 && m.table != nil {
			steady++
		}
	}
	if on && steady == 0 {
		t.Errorf("size %d: the map node never held a copy of its table", size)
	}
	if !on && steady > 0 {
		t.Errorf("size %d: a copy was taken with the table peek off", size)
	}
}

// A sync that fails after the table path looked at a map must leave the
// copy as the tree describes the map: the next sync still sees the change.
func TestTableCopyFailedSync(t *testing.T) {
	type doc struct {
		Entries map[string]benchEntry `json:"entries"`
		Bad     any                   `json:"bad"`
	}
	c := New(reflect.TypeFor[doc](), "")
	c.SetTreeThreshold(0)
	d := doc{Entries: newBenchDoc(500).Entries}
	v := reflect.ValueOf(&d).Elem()
	root, _, err := c.Sync(nil, v)
	for range 2 {
		if err == nil {
			root, _, err = c.Sync(root, v)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if root.kids[0].table == nil && tablePeekOK {
		t.Fatal("no table copy taken")
	}
	e := d.Entries[benchKey(3)]
	e.Hits = 42
	d.Entries[benchKey(3)] = e
	d.Bad = func() {} // encoding/json refuses it: the sync fails
	if _, _, err := c.Sync(root, v); err == nil {
		t.Fatal("Sync of a func succeeded")
	}
	d.Bad = nil
	if root, _, err = c.Sync(root, v); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(&d)
	got, err := c.Append(nil, root, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), want) {
		t.Fatalf("after a failed sync the codec writes\n%.300s\nencoding/json writes\n%.300s", got, want)
	}
}
