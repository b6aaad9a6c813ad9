package jsonenc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

// The benchmark document of internal/bench and the store's benchmarks.
type benchEntry struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Hits  int    `json:"hits"`
}

type benchDoc struct {
	Title   string                `json:"title"`
	Entries map[string]benchEntry `json:"entries"`
}

func benchKey(i int) string { return fmt.Sprintf("key-%04d", i) }

// bumpEntry counts one more hit on the i-th entry of a stride through the
// keys of a document of keys entries: a different entry each call.
func bumpEntry(doc *benchDoc, keys, i int) {
	k := benchKey(i * 7919 % keys)
	e := doc.Entries[k]
	e.Hits++
	doc.Entries[k] = e
}

func newBenchDoc(n int) benchDoc {
	d := benchDoc{Title: "benchmark", Entries: make(map[string]benchEntry, n)}
	for i := range n {
		d.Entries[benchKey(i)] = benchEntry{Name: "entry number " + strconv.Itoa(i), Value: fmt.Sprintf("%012d", i)}
	}
	return d
}

// BenchmarkCodecUpdate is the store's CPU work for one update of one key
// in the 1000-key benchmark document: bring the tree up to date and write
// the document, without the file.
func BenchmarkCodecUpdate(b *testing.B) {
	c := New(reflect.TypeFor[benchDoc](), "  ")
	doc := newBenchDoc(1000)
	v := reflect.ValueOf(&doc).Elem()
	tree, _, err := c.Sync(nil, v)
	if err != nil {
		b.Fatal(err)
	}
	var bufs [2][]byte
	i := 0
	for b.Loop() {
		i++
		bumpEntry(&doc, 1000, i)
		t, changed, err := c.Sync(tree, v)
		if err != nil || !changed {
			b.Fatal(err, changed)
		}
		tree = t
		out, err := c.Append(bufs[i%2][:0], tree, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		bufs[i%2] = out
	}
}

// BenchmarkCodecPaths measures one update of one member of the benchmark
// document at about 1 KB, 100 KB and 1 MB: encoding/json alone (what the
// store must write, the baseline), the codec encoding whole, the codec's
// tree, the deep copy an update of a type with hidden state takes for its
// undo (undo.go), and json.Valid of the document, which the tree's
// documents are spared (see Codec.Append). The tree is kept from the
// size where it wins at least 2x (defaultMinTree, exactMinTree).
func BenchmarkCodecPaths(b *testing.B) {
	for _, size := range []struct {
		name    string
		entries int
	}{{"1KB", 10}, {"10KB", 100}, {"100KB", 1000}, {"300KB", 3000}, {"1MB", 10000}} {
		doc := newBenchDoc(size.entries)
		bump := func(i int) { bumpEntry(&doc, size.entries, i) }
		b.Run(size.name+"/encoding-json", func(b *testing.B) {
			var buf, out bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			i := 0
			for b.Loop() {
				i++
				bump(i)
				buf.Reset()
				out.Reset()
				if err := enc.Encode(&doc); err != nil {
					b.Fatal(err)
				}
				if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(out.Len()))
		})
		for _, mode := range []struct {
			name    string
			minTree int
		}{{"whole", math.MaxInt}, {"tree", 0}} {
			b.Run(size.name+"/"+mode.name, func(b *testing.B) {
				c := New(reflect.TypeFor[benchDoc](), "  ")
				c.SetTreeThreshold(mode.minTree)
				v := reflect.ValueOf(&doc).Elem()
				tree, _, err := c.Sync(nil, v)
				if err != nil {
					b.Fatal(err)
				}
				var bufs [2][]byte
				i := 0
				for b.Loop() {
					i++
					bump(i)
					t, changed, err := c.Sync(tree, v)
					if err != nil || !changed {
						b.Fatal(err, changed)
					}
					tree = t
					out, err := c.Append(bufs[i%2][:0], tree, nil, nil)
					if err != nil {
						b.Fatal(err)
					}
					bufs[i%2] = out
				}
				b.SetBytes(int64(len(bufs[0])))
			})
		}
		b.Run(size.name+"/undo-copy", func(b *testing.B) {
			v := reflect.ValueOf(&doc).Elem()
			for b.Loop() {
				cloneValue(v)
			}
		})
		b.Run(size.name+"/json-valid", func(b *testing.B) {
			data, err := json.MarshalIndent(&doc, "", "  ")
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if !json.Valid(data) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// BenchmarkCodecTreeRatio alternates an update encoded whole with one
// through the tree, the same change to two copies of the document, so
// that both share the machine's noise, and reports the medians and the
// ratio whole/tree. Each side pays what an update costs it: its undo's
// preparation (a deep copy when encoded whole, nothing for the tree of a
// type without hidden state: see undo.go), the sync and the document.
// The tree is kept only where the ratio is at least 2.
func BenchmarkCodecTreeRatio(b *testing.B) {
	for _, size := range []struct {
		name    string
		entries int
	}{{"1KB", 10}, {"5KB", 50}, {"10KB", 100}, {"20KB", 200}, {"50KB", 500}, {"100KB", 1000}, {"1MB", 10000}} {
		b.Run(size.name, func(b *testing.B) {
			type side struct {
				c    *Codec
				doc  benchDoc
				v    reflect.Value
				tree *Tree
				bufs [2][]byte
				ns   []float64
			}
			mk := func(minTree int) *side {
				s := &side{c: New(reflect.TypeFor[benchDoc](), "  "), doc: newBenchDoc(size.entries)}
				s.c.SetTreeThreshold(minTree)
				s.v = reflect.ValueOf(&s.doc).Elem()
				tree, _, err := s.c.Sync(nil, s.v)
				if err != nil {
					b.Fatal(err)
				}
				s.tree = tree
				return s
			}
			sides := []*side{mk(math.MaxInt), mk(0)}
			i := 0
			for b.Loop() {
				i++
				k := benchKey(i * 7919 % size.entries)
				for _, s := range sides {
					start := time.Now()
					s.c.SaveForUndo(s.tree, s.v) // as every update does
					e := s.doc.Entries[k]
					e.Hits++
					s.doc.Entries[k] = e
					tree, _, err := s.c.Sync(s.tree, s.v)
					if err != nil {
						b.Fatal(err)
					}
					s.tree = tree
					out, err := s.c.Append(s.bufs[i%2][:0], s.tree, nil, nil)
					if err != nil {
						b.Fatal(err)
					}
					s.bufs[i%2] = out
					s.ns = append(s.ns, float64(time.Since(start).Nanoseconds()))
				}
			}
			whole, tree := median(sides[0].ns), median(sides[1].ns)
			b.ReportMetric(whole, "whole-ns/op")
			b.ReportMetric(tree, "tree-ns/op")
			b.ReportMetric(whole/tree, "whole/tree")
		})
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// BenchmarkCodecPatch is the store's CPU work in log mode for one update
// of one key of the benchmark document (10, 1000 and 10,000 keys): the
// shape before, the undo, the sync and the merge patch of the change.
func BenchmarkCodecPatch(b *testing.B) {
	for _, keys := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			c := New(reflect.TypeFor[benchDoc](), "  ")
			c.PreferTree()
			doc := newBenchDoc(keys)
			v := reflect.ValueOf(&doc).Elem()
			tree, _, err := c.Sync(nil, v)
			if err != nil {
				b.Fatal(err)
			}
			var buf []byte
			i := 0
			for b.Loop() {
				i++
				sh := c.Shape(tree)
				c.SaveForUndo(tree, v)
				bumpEntry(&doc, keys, i)
				t, changed, err := c.Sync(tree, v)
				if err != nil || !changed {
					b.Fatal(err, changed)
				}
				tree = t
				patch, changed, exact := c.MergePatch(buf[:0], sh, tree)
				if !changed || !exact {
					b.Fatal(changed, exact)
				}
				buf = patch
			}
		})
	}
}
