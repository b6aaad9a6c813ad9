package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

type fuzzDoc struct {
	Name    string                    `json:"name"`
	Port    int                       `json:"port,omitempty"`
	Ratio   float64                   `json:"ratio"`
	Tags    []string                  `json:"tags"`
	Servers map[string]fuzzServer     `json:"servers"`
	Nested  map[string]map[string]any `json:"nested,omitempty"`
	Any     any                       `json:"any,omitempty"`
}

type fuzzServer struct {
	Host string `json:"host"`
	Up   bool   `json:"up"`
}

// FuzzLoad feeds arbitrary bytes to the document loader. It must never
// panic; it either refuses the content as corrupt (a *parseError) or
// accepts it, and then the document it writes must load again to the same
// value, keep the same unknown fields, and be written identically again.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		`{"name":"a","port":1,"servers":{"x":{"host":"h","up":true}}}`,
		`{"schema":2,"name":"a","future":{"deep":[1,2,{"x":null}]},"zz":1}`,
		"\xef\xbb\xbf{\"name\":\"bom\"}",
		`{"name":"trunc`, "\x00\x00\x00\x00", "", " \n", `[1,2]`, `null`, `"s"`, `12`,
		"{\"name\":\"\xff\"}", `{"name":"a"}}`, `{"port":"x"}`, `{"NAME":"fold","name":"x"}`,
		`{"nested":{"a":{"b":[{"c":1e308}]}},"any":{"k":[true,false,null]}}`,
		`{"a\u0000b":1,"\u2028":"\ud800"}`, `{"ratio":-0.0,"tags":[]}`, `{"servers":null,"tags":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(fuzzLoadOne)
}

func fuzzLoadOne(t *testing.T, data []byte) {
	{
		for _, version := range []int{0, 2} {
			key := ""
			if version > 0 {
				key = "schema"
			}
			c := newFormat(reflect.TypeFor[fuzzDoc](), "  ", key, version)
			p, err := c.parse(data)
			if err != nil {
				var pe *parseError
				if !errors.As(err, &pe) {
					t.Fatalf("refused with %T %v, want a parseError", err, err)
				}
				continue
			}
			if version > 0 && p.version < version {
				continue // would be migrated first
			}
			out := writeDoc(t, c, p)
			p2, err := c.parse(out)
			if err != nil {
				t.Fatalf("the written document does not load: %v\n%s", err, out)
			}
			if a, b := encodeValue(t, p.val), encodeValue(t, p2.val); !bytes.Equal(a, b) {
				t.Fatalf("the value changed on rewrite:\n%s\n%s", a, b)
			}
			if len(p.unknown) != len(p2.unknown) {
				t.Fatalf("unknown fields %d, then %d", len(p.unknown), len(p2.unknown))
			}
			for i := range p.unknown {
				if !reflect.DeepEqual(p.unknown[i], p2.unknown[i]) {
					t.Fatalf("unknown field %d changed: %+v, then %+v", i, p.unknown[i], p2.unknown[i])
				}
			}
			if again := writeDoc(t, c, p2); !bytes.Equal(out, again) {
				t.Fatalf("written twice, differently:\n%s\n%s", out, again)
			}
			if !json.Valid(out) {
				t.Fatalf("wrote invalid JSON:\n%s", out)
			}
		}
	}
}

func writeDoc(t *testing.T, c *format, p *parsed) []byte {
	t.Helper()
	st := &state{val: p.val, unknown: p.unknown}
	if c.schemaKey != "" {
		st.version = max(p.version, c.version)
	}
	root, _, err := c.enc.Sync(nil, st.val)
	if err != nil {
		// A loaded value that cannot be written back must not be
		// accepted: it would fail every update.
		t.Fatalf("a loaded document does not encode: %v", err)
	}
	st.root = root
	out, err := c.document(nil, st)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func encodeValue(t *testing.T, v reflect.Value) []byte {
	b, err := json.Marshal(v.Addr().Interface())
	if err != nil {
		t.Fatal(err)
	}
	return b
}
