package durable

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// revByHand computes a Rev as its documentation describes it.
func revByHand(chunks ...string) Rev {
	h := sha256.New()
	h.Write([]byte("durable version 1\n"))
	for _, c := range chunks {
		s := sha256.Sum256([]byte(c))
		h.Write(s[:])
	}
	var v Rev
	h.Sum(v.sum[:0])
	return v
}

func TestRevOfChunks(t *testing.T) {
	line := strings.Repeat("x", 99) + "\n" // 100 bytes
	long := strings.Repeat(line, 41)       // 4100 bytes: the newline at 4099 ends a chunk
	cases := []struct {
		name    string
		content string
		chunks  []string
	}{
		{"empty", "", nil},
		{"small", "{\"a\": 1}\n", []string{"{\"a\": 1}\n"}},
		{"exactly one chunk", long, []string{long}},
		{"two chunks", long + "tail", []string{long, "tail"}},
		{"no newline after 4 KiB", strings.Repeat("y", 9000), []string{strings.Repeat("y", 9000)}},
		// A newline at offset 4095 is the first that may end a chunk.
		{"newline at 4095", strings.Repeat("z", 4095) + "\nrest", []string{strings.Repeat("z", 4095) + "\n", "rest"}},
		{"newline at 4094", strings.Repeat("z", 4094) + "\nrest\nmore", []string{strings.Repeat("z", 4094) + "\nrest\n", "more"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, want := RevOf([]byte(c.content)), revByHand(c.chunks...); got != want {
				t.Errorf("RevOf = %v, want %v (chunks %d)", got, want, len(c.chunks))
			}
		})
	}
	if RevOf(nil) != (Rev{}) || RevOf([]byte{}) == (Rev{}) {
		t.Error("nil content must give the zero Rev, and empty content another")
	}
}

// edit returns b with a random insertion, deletion or replacement.
func edit(r *rand.Rand, b []byte) []byte {
	out := bytes.Clone(b)
	pos := 0
	if len(out) > 0 {
		pos = r.IntN(len(out) + 1)
	}
	piece := make([]byte, r.IntN(40))
	for i := range piece {
		piece[i] = "abc\n{}\": "[r.IntN(9)]
	}
	switch r.IntN(5) {
	case 0: // insert
		return append(out[:pos:pos], append(piece, out[pos:]...)...)
	case 1: // delete
		end := min(len(out), pos+r.IntN(60))
		return append(out[:pos:pos], out[end:]...)
	case 2: // replace in place
		for i := range piece {
			if pos+i < len(out) {
				out[pos+i] = piece[i]
			}
		}
		return out
	case 3: // append
		return append(out, piece...)
	default: // prepend
		return append(piece, out...)
	}
}

func jsonLike(r *rand.Rand, lines int) []byte {
	var b bytes.Buffer
	b.WriteString("{\n")
	for i := range lines {
		fmt.Fprintf(&b, "  \"key-%04d\": {\"hits\": %d, \"name\": %q},\n", i, r.IntN(100), strings.Repeat("n", r.IntN(30)))
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func TestRevTrackerMatchesRevOf(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var vt RevTracker
	doc := jsonLike(r, 2000)
	if got, want := vt.Rev(doc), RevOf(doc); got != want {
		t.Fatalf("first Rev = %v, want %v", got, want)
	}
	for i := range 2000 {
		doc = edit(r, doc)
		if i%97 == 0 {
			doc = doc[:r.IntN(len(doc)+1)] // a truncation
		}
		if got, want := vt.Rev(doc), RevOf(doc); got != want {
			t.Fatalf("step %d: Rev = %v, want %v", i, got, want)
		}
		switch i % 53 {
		case 0: // the same content again, as the same slice and as a copy
			if got, want := vt.Rev(doc), RevOf(doc); got != want {
				t.Fatalf("step %d, again: Rev = %v, want %v", i, got, want)
			}
			doc = bytes.Clone(doc)
			if got, want := vt.Rev(doc), RevOf(doc); got != want {
				t.Fatalf("step %d, a copy: Rev = %v, want %v", i, got, want)
			}
		case 1:
			vt.Reset()
		}
	}
	if vt.Rev(nil) != (Rev{}) {
		t.Error("nil content must give the zero Rev")
	}
	if got, want := vt.Rev([]byte("x\n")), RevOf([]byte("x\n")); got != want {
		t.Errorf("after nil: Rev = %v, want %v", got, want)
	}
}

func TestRevTrackerRehashesOnlyNearChanges(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	doc := jsonLike(r, 3000) // about 150 KiB, 35 or so chunks
	var vt RevTracker
	vt.Rev(doc)
	if vt.hashed < 30 {
		t.Fatalf("the first Rev hashed %d chunks; the test wants a document of many", vt.hashed)
	}
	cases := []struct {
		name   string
		change func([]byte) []byte
	}{
		{"same length", func(b []byte) []byte {
			i := bytes.Index(b, []byte(`"key-1500": {"hits": `)) + len(`"key-1500": {"hits": `)
			b = bytes.Clone(b)
			b[i] = '7'
			return b
		}},
		{"longer", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"key-1200": {"hits": `), []byte(`"key-1200": {"hits": 1000`), 1)
		}},
		{"shorter", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"key-0700": {`), []byte(`"k": {`), 1)
		}},
		{"new line", func(b []byte) []byte {
			return bytes.Replace(b, []byte("  \"key-2500\""), []byte("  \"added\": 1,\n  \"key-2500\""), 1)
		}},
	}
	for _, c := range cases {
		next := c.change(doc)
		if got, want := vt.Rev(next), RevOf(next); got != want {
			t.Fatalf("%s: Rev = %v, want %v", c.name, got, want)
		}
		if vt.hashed > 3 {
			t.Errorf("%s: hashed %d chunks for one change; want at most 3", c.name, vt.hashed)
		}
		doc = next
	}
	// The same content again costs no hashing.
	vt.Rev(bytes.Clone(doc))
	if vt.hashed != 0 {
		t.Errorf("unchanged content hashed %d chunks", vt.hashed)
	}
}

func FuzzRevTracker(f *testing.F) {
	f.Add([]byte("{\n}\n"), []byte("{\n  \"a\": 1\n}\n"), uint16(0))
	f.Add(bytes.Repeat([]byte("abc\n"), 3000), bytes.Repeat([]byte("abd\n"), 3000), uint16(5000))
	f.Fuzz(func(t *testing.T, a, b []byte, at uint16) {
		// b spliced into a long a, so that chunks exist on both sides.
		long := bytes.Repeat(append(bytes.Clone(a), '\n'), 1+9000/(len(a)+1))
		pos := int(at) % (len(long) + 1)
		next := append(append(bytes.Clone(long[:pos]), b...), long[pos:]...)
		var vt RevTracker
		for _, c := range [][]byte{long, next, long, a, b} {
			if got, want := vt.Rev(c), RevOf(c); got != want {
				t.Fatalf("Rev = %v, want %v", got, want)
			}
		}
	})
}

func BenchmarkRev(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	doc := jsonLike(r, 2000) // about 100 KiB
	b.Run("RevOf", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			RevOf(doc)
		}
	})
	b.Run("tracker-one-change", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		var vt RevTracker
		docs := [2][]byte{doc, bytes.Clone(doc)}
		i := bytes.Index(doc, []byte(`"key-1000": {"hits": `)) + len(`"key-1000": {"hits": `)
		n := 0
		for b.Loop() {
			n++
			d := docs[n%2]
			d[i] = byte('0' + n%10)
			vt.Rev(d)
		}
	})
}

// The deprecated names are the same functions under their old names.
func TestDeprecatedVersionNames(t *testing.T) {
	doc := []byte("a\nb\n")
	if VersionOf(doc) != RevOf(doc) {
		t.Error("VersionOf differs from RevOf")
	}
	var vt VersionTracker
	if vt.Version(doc) != RevOf(doc) || vt.Rev(doc) != RevOf(doc) {
		t.Error("VersionTracker differs from RevTracker")
	}
	var v Version = RevOf(doc)
	var o, n options
	IfVersion(v)(&o)
	IfRev(v)(&n)
	if *o.ifRev != *n.ifRev {
		t.Error("IfVersion differs from IfRev")
	}
}
