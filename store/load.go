package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/jsonenc"
)

// format is how a Store reads and writes its file: T's encoding, which
// jsonenc keeps up to date incrementally, and what the file holds beside T
// at the top level (the schema version and fields T does not know).
type format struct {
	enc       *jsonenc.Codec
	t         reflect.Type
	schemaKey string   // "" when the store has no schema version
	version   int      // the schema version the program writes
	mustObj   bool     // the document must be a JSON object
	allKnown  bool     // every top-level key belongs to T (a map)
	known     sync.Map // top-level key -> bool: T decodes it
}

func newFormat(t reflect.Type, indent, schemaKey string, version int) *format {
	c := &format{enc: jsonenc.New(t, indent), t: t, schemaKey: schemaKey, version: version}
	k := t.Kind()
	c.mustObj = (k == reflect.Struct || k == reflect.Map) && !jsonenc.Custom(t) || schemaKey != ""
	// A map takes every key; a type with its own unmarshaler decides
	// alone, so nothing is kept beside it.
	c.allKnown = k == reflect.Map || jsonenc.Custom(t)
	return c
}

// document appends the whole file to buf: the schema version first, then
// T's members, then the unknown fields in the order the file had them. It
// never returns invalid JSON (see jsonenc.Codec.Append).
func (c *format) document(buf []byte, st *state) ([]byte, error) {
	var pre []jsonenc.Member
	if c.schemaKey != "" && st.version > 0 {
		pre = []jsonenc.Member{c.enc.Member(c.schemaKey, fmt.Appendf(nil, "%d", st.version))}
	}
	return c.enc.Append(buf, st.root, pre, st.unknown)
}

// state is a document in memory: the value being updated, its encoding
// tree, and what the file holds beside T.
type state struct {
	file    []byte        // the file's content this state matches; nil when missing
	missing bool          // the file does not exist
	val     reflect.Value // addressable T, updated in place
	root    *jsonenc.Tree
	version int              // schema version to write (0: none)
	unknown []jsonenc.Member // top-level fields T does not know, in file order

	// versions hashes the documents this state writes, each against the
	// one before: a change of one member rehashes a few KiB.
	versions durable.RevTracker
}

// holds reports whether the state matches the file content old (nil: the
// file does not exist).
func (st *state) holds(old []byte) bool {
	if old == nil {
		return st.missing
	}
	return !st.missing && bytes.Equal(old, st.file)
}

// rev is the durable.Rev of the content the state matches.
func (st *state) rev() durable.Rev {
	if st.missing {
		return durable.Rev{}
	}
	return st.versions.Rev(st.file)
}

// parsed is a file's content, decoded.
type parsed struct {
	val     reflect.Value       // addressable T; invalid when the version needs migrating
	version int                 // schema version in the file (0 when absent)
	members []jsonenc.RawMember // top-level members in file order (objects only)
	unknown []jsonenc.Member
}

// parseError describes why a file's content is not a valid document.
type parseError struct {
	offset int64 // -1 when unknown
	msg    string
}

func (e *parseError) Error() string {
	if e.offset >= 0 {
		return fmt.Sprintf("%s (at byte %d)", e.msg, e.offset)
	}
	return e.msg
}

var utf8BOM = []byte("\xef\xbb\xbf")

// parse decodes a file's content. Anything that is not a complete,
// well-formed document of the right shape is a *parseError: empty,
// truncated, zero-filled, invalid UTF-8, trailing garbage, the wrong JSON
// type, a value that does not fit T.
func (c *format) parse(data []byte) (*parsed, error) {
	data = bytes.TrimPrefix(data, utf8BOM) // some editors add one
	if len(data) > 0 && bytes.Count(data, []byte{0}) == len(data) {
		return nil, &parseError{0, "the file is all zero bytes"}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &parseError{-1, "the file is empty"}
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, size := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return nil, &parseError{int64(off), "invalid UTF-8"}
	}
	if !json.Valid(data) {
		var x any
		err := json.Unmarshal(data, &x)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, &parseError{se.Offset, "not valid JSON: " + se.Error()}
		}
		return nil, &parseError{-1, "not valid JSON"}
	}
	p := &parsed{}
	first := firstByte(data)
	if first == '{' && (!c.allKnown || c.schemaKey != "") {
		p.members = jsonenc.ObjectMembers(data)
	} else if c.mustObj && first != '{' {
		return nil, &parseError{-1, fmt.Sprintf("the document is %s, want a JSON object", jsonKind(first))}
	}
	if c.schemaKey != "" {
		for _, m := range p.members {
			if m.Key != c.schemaKey {
				continue
			}
			v, err := strconv.Atoi(string(m.Val))
			if err != nil || v < 0 {
				return nil, &parseError{-1, fmt.Sprintf("%q is %s, want a schema version number", c.schemaKey, m.Val)}
			}
			p.version = v
		}
	}
	if c.schemaKey != "" && p.version < c.version {
		// An older schema need not fit T: migrate first, then decode.
		return p, nil
	}
	ptr := reflect.New(c.t)
	if err := json.Unmarshal(data, ptr.Interface()); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			where := te.Field
			if where == "" {
				where = "the document"
			}
			return nil, &parseError{te.Offset, fmt.Sprintf("%s is a JSON %s, which does not fit %v", where, te.Value, te.Type)}
		}
		return nil, &parseError{-1, "does not decode: " + err.Error()}
	}
	p.val = ptr.Elem()
	for _, m := range p.members {
		if m.Key == c.schemaKey || c.knows(m.Key) {
			continue
		}
		p.unknown = append(p.unknown, c.unknownMember(m))
	}
	return p, nil
}

func (c *format) unknownMember(m jsonenc.RawMember) jsonenc.Member {
	return c.enc.Member(m.Key, m.Val)
}

func quoteKey(k string) []byte {
	b, _ := json.Marshal(k)
	return b
}

func firstByte(data []byte) byte {
	t := bytes.TrimLeft(data, " \t\r\n")
	if len(t) == 0 {
		return 0
	}
	return t[0]
}

func jsonKind(b byte) string {
	switch b {
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

// knows reports whether T decodes the top-level key: whether encoding/json,
// told to refuse unknown fields, accepts it. That is encoding/json's own
// rule, case folding and embedded structs included.
func (c *format) knows(key string) bool {
	if c.allKnown {
		return true
	}
	if v, ok := c.known.Load(key); ok {
		return v.(bool)
	}
	doc := append(append([]byte("{"), quoteKey(key)...), ":null}"...)
	d := json.NewDecoder(bytes.NewReader(doc))
	d.DisallowUnknownFields()
	err := d.Decode(reflect.New(c.t).Interface())
	known := err == nil || !strings.HasPrefix(err.Error(), "json: unknown field")
	c.known.Store(key, known)
	return known
}

// migrate runs the migrations from the file's version up to the store's
// and returns the migrated content (compact, schema key first). Steps
// without a function leave the document as it is.
func (c *format) migrate(p *parsed, steps map[int]func(map[string]json.RawMessage) error) ([]byte, error) {
	doc := make(map[string]json.RawMessage, len(p.members))
	var order []string
	for _, m := range p.members {
		if m.Key == c.schemaKey {
			continue
		}
		if _, dup := doc[m.Key]; !dup {
			order = append(order, m.Key)
		}
		doc[m.Key] = bytes.Clone(m.Val)
	}
	for v := p.version; v < c.version; v++ {
		fn := steps[v]
		if fn == nil {
			continue
		}
		if err := fn(doc); err != nil {
			return nil, &MigrationError{From: v, To: v + 1, Err: err}
		}
	}
	delete(doc, c.schemaKey)
	// Keys keep their place; new ones follow in sorted order.
	var keys []string
	for _, k := range order {
		if _, ok := doc[k]; ok {
			keys = append(keys, k)
		}
	}
	var added []string
	for k := range doc {
		if !slices.Contains(order, k) {
			added = append(added, k)
		}
	}
	slices.Sort(added)
	keys = append(keys, added...)
	var b bytes.Buffer
	fmt.Fprintf(&b, "{%s:%d", quoteKey(c.schemaKey), c.version)
	for _, k := range keys {
		v := doc[k]
		if !json.Valid(v) {
			return nil, &MigrationError{From: p.version, To: c.version, Err: fmt.Errorf("the value of %q is not valid JSON", k)}
		}
		b.WriteByte(',')
		b.Write(quoteKey(k))
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
