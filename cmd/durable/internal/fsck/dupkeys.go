package fsck

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// DuplicateKey finds the first object in the JSON text data that has a
// member name twice, and returns where: a dotted path to the object, the
// key, and true. encoding/json (and so package store) keeps the last of the
// two silently, so a document that has one is not what it seems to hold.
// Data that is not valid JSON returns false.
func DuplicateKey(data []byte) (path, key string, found bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		keys   map[string]bool
		name   string // this value's name in its parent
		index  int    // next element index, in an array
		expect bool   // object: the next string token is a key
	}
	var stack []*frame
	where := func() string {
		var b strings.Builder
		for _, f := range stack[1:] {
			b.WriteString(".")
			b.WriteString(f.name)
		}
		if b.Len() == 0 {
			return "."
		}
		return b.String()
	}
	var nextName string
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.object && top.expect {
			k, _ := tok.(string)
			if top.keys[k] {
				return where(), k, true
			}
			top.keys[k] = true
			top.expect = false
			nextName = k
			continue
		}
		// A value: in an object, a key comes next.
		name := nextName
		if top != nil {
			if top.object {
				top.expect = true
			} else {
				name = strconv.Itoa(top.index)
				top.index++
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, name: name, expect: true})
		case json.Delim('['):
			stack = append(stack, &frame{name: name})
		}
	}
}
