// Package keypath reads and edits one value inside a JSON document by its
// KEY.PATH ("server.port"), for the command-line tools (durable store and
// durable-pg store), so that both accept the same paths and change
// documents the same way.
//
// An edit keeps every other member of every object as it was, in its
// order and spelling: only the value at the path and the objects above it
// are re-encoded.
package keypath

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// MaxDepth bounds a KEY.PATH: a path thousands of levels deep makes a
// file of megabytes of indentation.
const MaxDepth = 64

// Parse splits "a.b\.c" into ["a", "b.c"]: \. is a dot inside a key and
// \\ a backslash; any other backslash is itself.
func Parse(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '.' || s[i+1] == '\\') {
				cur.WriteByte(s[i+1])
				i++
				continue
			}
			cur.WriteByte('\\')
		case '.':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	out = append(out, cur.String())
	if len(out) > MaxDepth {
		return nil, fmt.Errorf("KEY.PATH has %d levels; at most %d are allowed", len(out), MaxDepth)
	}
	for _, k := range out {
		if k == "" {
			return nil, fmt.Errorf("KEY.PATH %q has an empty key (write \\. for a dot inside a key)", s)
		}
	}
	return out, nil
}

// A ShapeError is a path that runs through a value that is not an object:
// the document does not fit the path, and is left as it was.
type ShapeError struct {
	Where string // the path to the value, or "the document"
	Is    string // what the value is instead: "a string", "an array", ...
}

func (e *ShapeError) Error() string { return e.Where + " is " + e.Is + ", not an object" }

// Where names the value at path in messages.
func Where(path []string) string {
	if len(path) == 0 {
		return "the document"
	}
	return strings.Join(path, ".")
}

// Describe says what kind of JSON value v is, with its article: "an
// object", "a number", ...
func Describe(v []byte) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "empty"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// Get returns the value at path in doc, and whether there is one; a nil
// doc (no document yet) has none.
func Get(doc []byte, path []string) ([]byte, bool, error) {
	if doc == nil {
		return nil, false, nil
	}
	cur := doc
	for i, k := range path {
		ms, err := members(cur, path[:i])
		if err != nil {
			return nil, false, err
		}
		found := false
		for _, m := range ms {
			if m.key == k {
				cur, found = m.val, true // the last one wins, as in encoding/json
			}
		}
		if !found {
			return nil, false, nil
		}
	}
	return cur, true, nil
}

// Set returns doc with the value at path set to v, creating the objects
// missing on the way; a nil or null doc starts as an empty object.
func Set(doc []byte, path []string, v []byte) ([]byte, error) {
	if doc == nil || string(bytes.TrimSpace(doc)) == "null" && len(path) > 0 {
		doc = []byte("{}")
	}
	return setIn(doc, path, v, nil)
}

func setIn(doc []byte, path []string, v []byte, above []string) ([]byte, error) {
	if len(path) == 0 {
		return v, nil
	}
	ms, err := members(doc, above)
	if err != nil {
		return nil, err
	}
	k := path[0]
	idx := -1
	for i, m := range ms {
		if m.key == k {
			idx = i
		}
	}
	child := []byte("{}")
	if idx >= 0 {
		child = ms[idx].val
	}
	nv, err := setIn(child, path[1:], v, append(above, k))
	if err != nil {
		return nil, err
	}
	if idx >= 0 {
		ms[idx].val = nv
	} else {
		ms = append(ms, member{k, nv})
	}
	return encode(ms), nil
}

// Delete returns doc without the member at path, or nil when there is no
// such member (nothing to change).
func Delete(doc []byte, path []string) ([]byte, error) {
	if doc == nil {
		return nil, nil
	}
	return deleteIn(doc, path, nil)
}

func deleteIn(doc []byte, path []string, above []string) ([]byte, error) {
	ms, err := members(doc, above)
	if err != nil {
		return nil, err
	}
	k := path[0]
	var out []member
	changed := false
	for _, m := range ms {
		if m.key != k {
			out = append(out, m)
			continue
		}
		if len(path) == 1 {
			changed = true
			continue
		}
		nv, err := deleteIn(m.val, path[1:], append(above, k))
		if err != nil {
			return nil, err
		}
		if nv != nil {
			m.val, changed = nv, true
		}
		out = append(out, m)
	}
	if !changed {
		return nil, nil
	}
	return encode(out), nil
}

// A member is one member of an object, its value raw.
type member struct {
	key string
	val json.RawMessage
}

// members returns the members of the object doc, the value at path, in
// order; a doc that is not an object is a ShapeError.
func members(doc []byte, path []string) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &ShapeError{Where: Where(path), Is: Describe(doc)}
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, member{tok.(string), v})
	}
	return ms, nil
}

func encode(ms []member) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		enc.Encode(m.key)
		b.Truncate(b.Len() - 1) // Encode's newline
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return b.Bytes()
}
