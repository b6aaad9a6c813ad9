package store

import (
	"fmt"
	"reflect"
	"strconv"
	"testing"
)

// The benchmark document of internal/bench, which imports this package.
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
	c := newCodec(reflect.TypeFor[benchDoc](), "  ", "", 0)
	doc := newBenchDoc(1000)
	st := &state{val: reflect.ValueOf(&doc).Elem()}
	sc := newScratch()
	root, _, err := c.syncRoot(sc, nil, st.val)
	if err != nil {
		b.Fatal(err)
	}
	st.root = root
	var bufs [2][]byte
	i := 0
	for b.Loop() {
		i++
		k := benchKey(i * 7919 % 1000)
		e := doc.Entries[k]
		e.Hits++
		doc.Entries[k] = e
		root, changed, err := c.syncRoot(sc, st.root, st.val)
		if err != nil || !changed {
			b.Fatal(err, changed)
		}
		st.root = root
		out, err := c.document(bufs[i%2][:0], st)
		if err != nil {
			b.Fatal(err)
		}
		bufs[i%2] = out
	}
}
