package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// parseKeyPath splits "a.b\.c" into ["a", "b.c"].
// maxKeyDepth bounds a KEY.PATH, and maxDocDepth the nesting of a whole
// document: a path thousands of levels deep makes a file of megabytes of
// indentation, and one deeper than encoding/json's limit could never be
// read back.
const (
	maxKeyDepth = 64
	maxDocDepth = 256
)

// jsonDepth is the deepest nesting of objects and arrays in the JSON text b.
func jsonDepth(b []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch ch := b[i]; {
		case inString && ch == '\\':
			i++
		case ch == '"':
			inString = !inString
		case inString:
		case ch == '{' || ch == '[':
			depth++
			deepest = max(deepest, depth)
		case ch == '}' || ch == ']':
			depth--
		}
	}
	return deepest
}

func parseKeyPath(s string) ([]string, error) {
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
	if len(out) > maxKeyDepth {
		return nil, fmt.Errorf("KEY.PATH has %d levels; at most %d are allowed", len(out), maxKeyDepth)
	}
	for _, k := range out {
		if k == "" {
			return nil, fmt.Errorf("KEY.PATH %q has an empty key (write \\. for a dot inside a key)", s)
		}
	}
	return out, nil
}

// Ordered JSON objects: the members of one object, in order, values raw.

type jsonMember struct {
	key string
	val json.RawMessage
}

func objectMembers(doc []byte) ([]jsonMember, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	var ms []jsonMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, jsonMember{tok.(string), v})
	}
	return ms, nil
}

var errNotObject = errors.New("not an object")

func encodeObject(ms []jsonMember) []byte {
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

func describe(v []byte) string {
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

// getPath returns the value at path, and whether it exists.
func getPath(doc []byte, path []string) ([]byte, bool, error) {
	if doc == nil {
		return nil, false, nil
	}
	cur := []byte(doc)
	for i, k := range path {
		ms, err := objectMembers(cur)
		if errors.Is(err, errNotObject) {
			return nil, false, badInputf("%s is %s, not an object", where(path[:i]), describe(cur))
		}
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

func where(path []string) string {
	if len(path) == 0 {
		return "the document"
	}
	return strings.Join(path, ".")
}

// setPath returns doc with the value at path set to v, creating missing
// objects on the way.
func setPath(doc []byte, path []string, v []byte) ([]byte, error) {
	if doc == nil || string(bytes.TrimSpace(doc)) == "null" && len(path) > 0 {
		doc = []byte("{}")
	}
	return setIn(doc, path, v, nil)
}

func setIn(doc []byte, path []string, v []byte, above []string) ([]byte, error) {
	if len(path) == 0 {
		return v, nil
	}
	ms, err := objectMembers(doc)
	if errors.Is(err, errNotObject) {
		return nil, badInputf("%s is %s, not an object", where(above), describe(doc))
	}
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
		ms = append(ms, jsonMember{k, nv})
	}
	return encodeObject(ms), nil
}

// deletePath returns doc without the member at path, or nil if there is
// no such member.
func deletePath(doc []byte, path []string) ([]byte, error) {
	if doc == nil {
		return nil, nil
	}
	return deleteIn(doc, path, nil)
}

func deleteIn(doc []byte, path []string, above []string) ([]byte, error) {
	ms, err := objectMembers(doc)
	if errors.Is(err, errNotObject) {
		return nil, badInputf("%s is %s, not an object", where(above), describe(doc))
	}
	if err != nil {
		return nil, err
	}
	k := path[0]
	var out []jsonMember
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
	return encodeObject(out), nil
}
