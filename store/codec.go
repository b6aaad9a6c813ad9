package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// codec encodes documents of one type and decodes them. What it writes is
// byte for byte what encoding/json writes (json.Marshal of a pointer to the
// value, without HTML escaping, then json.Indent), which the tests check
// against encoding/json after every update, under a fuzzer.
//
// A small document is encoded whole by encoding/json every time (a node
// with whole set): that is as fast as anything cleverer. A large one of an
// object type (see plan.go) is encoded incrementally: the encoding is a
// tree of nodes mirroring the value, an object node per plain struct or
// string-keyed map, a leaf per other value. Each node keeps its encoding
// (indented for its depth) and each leaf a deep copy of the value it
// encoded. After an update, sync walks the value against the tree: equal
// leaves cost a comparison, changed ones are encoded again, and only the
// objects on the path to a change are reassembled. Leaves whose encoding
// may depend on what the comparison does not see (marshalers, IsZero
// methods, unexported fields under omitzero, TextMarshaler keys) are never
// equal: they are encoded again and compared as bytes (see ops.go).
// Nodes are replaced, not changed, except a map's members, which change in
// place once the whole document encoded (see syncRoot); a large map also
// keeps a private copy of its encoding and splices the changed members
// into it.
//
// The tree does not undo failed updates: the store restores a deep copy
// of the whole value taken before the update (see clone.go), and the tree
// still describes that value, since a failed sync changes no node.
type codec struct {
	t         reflect.Type
	root      *objPlan // nil: the document is always encoded whole
	indent    string   // "" writes compact JSON
	schemaKey string   // "" when the store has no schema version
	version   int      // the schema version the program writes
	mustObj   bool     // the document must be a JSON object
	allKnown  bool     // every top-level key belongs to T (a map)
	prefixes  []string
	sep       string   // between a key and its value
	known     sync.Map // top-level key -> bool: T decodes it
	lastSize  atomic.Int64

	// minTree is the size of document (in bytes, compact) from which the
	// encoding is kept as a tree; below half of it the tree is dropped
	// again. BenchmarkCodecTreeRatio shows where the tree wins 2x.
	minTree int
	// readBack: a whole encoding is decoded again to check that it reads
	// back, because T holds something whose decoding may refuse what its
	// encoding wrote (a custom unmarshaler, a non-empty interface).
	readBack bool
	// exact: T has no hidden state, so the tree's snapshots undo a failed
	// update (see undo.go).
	exact bool
}

// defaultMinTree is codec.minTree for a type with hidden state, whose
// updates pay a deep copy for their undo either way: the tree wins 2x
// (whole/tree, medians of alternating runs in BenchmarkCodecTreeRatio)
// from about 100 KB of indented JSON (about 70 KiB compact).
const defaultMinTree = 128 << 10

// exactMinTree is codec.minTree for a type without hidden state, where
// the tree also spares the deep copy (undo.go): whole/tree in
// BenchmarkCodecTreeRatio is 5 at 1 KB, 10 at 10 KB, 13 at 20 KB, 20 at
// 100 KB and 1 MB. Below it the savings are a few microseconds, a small
// share of a file write, and encoding/json alone is the simpler path.
const exactMinTree = 16 << 10

func newCodec(t reflect.Type, indent, schemaKey string, version int) *codec {
	c := &codec{t: t, indent: indent, schemaKey: schemaKey, version: version}
	c.root = planFor(t)
	c.minTree = defaultMinTree
	c.readBack = mayNotReadBack(t, map[reflect.Type]bool{})
	c.exact = exactType(t, map[reflect.Type]bool{})
	if c.exact {
		c.minTree = exactMinTree
	}
	k := t.Kind()
	c.mustObj = (k == reflect.Struct || k == reflect.Map) && !custom(t) || schemaKey != ""
	// A map takes every key; a type with its own unmarshaler decides
	// alone, so nothing is kept beside it.
	c.allKnown = k == reflect.Map || custom(t)
	c.sep = ": "
	if indent == "" {
		c.sep = ":"
	}
	for d := range 16 {
		c.prefixes = append(c.prefixes, strings.Repeat(indent, d))
	}
	return c
}

func (c *codec) prefix(depth int) string {
	if depth < len(c.prefixes) {
		return c.prefixes[depth]
	}
	return strings.Repeat(c.indent, depth)
}

// node is one member's encoding; see codec.
type node struct {
	enc   []byte // a leaf's encoding, "null" for a nil map, or the whole document (compact)
	whole bool   // the root, encoded whole by encoding/json

	snap    reflect.Value  // leaf: a copy of the value encoded (invalid if it could not be copied)
	snapPtr unsafe.Pointer // leaf: snap's address, for leafOps.memEqual

	kids    []*node          // object: struct fields in plan order, or map entries in key order
	present []bool           // struct: which fields are written (omitempty, omitzero)
	keys    []string         // map: sorted keys
	keyEnc  [][]byte         // map: keys as JSON strings
	index   *keyIndex        // map: key to position
	snaps   []unsafe.Pointer // map of leaves with memEqual: each kid's snapPtr, side by side
	vals    reflect.Value    // map of leaves with memEqual: copies of the kids' snaps, by place in index's order
	valBase unsafe.Pointer   // vals' first element; nil when vals is not set
	cache   *mapCache        // large map: its last encoding
	null    bool             // map: nil, written as null
}

// mapCache is a large map node's last encoding, so that writing the map
// again after a few members changed (in place, see syncMap) is a splice
// rather than a walk of every member. enc is the cache's own copy, never a
// slice of a document: document buffers are reused, and an inner map's
// encoding is copied as bytes by an outer map's splice while the inner
// cache lives on, so a cache that pointed into a document would one day
// splice from memory overwritten since.
//
// The cache is reused only if it still holds what was written (sum) and
// the places to splice are whole members (spliceable): a document is not
// checked whole before it is published (see document), so what is copied
// from memory kept across updates is checked, at a cost far below
// json.Valid's.
type mapCache struct {
	enc   []byte
	sum   uint32  // CRC-32C of enc
	vals  []int32 // member i's value is enc[vals[2i]:vals[2i+1]]
	dirty []int   // members changed since enc was written
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// badCache is the panic with which appendMap stops writing a document
// from a cache that fails its checks; document recovers it and refuses to
// publish (errInvalidDocument), as encoding/json stops on its own errors.
type badCache struct{}

// minCachedMap is the size from which a map keeps its encoding.
const minCachedMap = 32

// scratch is working space for one goroutine.
type scratch struct {
	buf     bytes.Buffer
	enc     *json.Encoder
	ibuf    bytes.Buffer
	commits []kidCommit // see syncMap
}

// kidCommit replaces a member of a map node once the whole sync succeeded.
type kidCommit struct {
	n   *node
	i   int
	kid *node
}

func newScratch() *scratch {
	s := &scratch{}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	return s
}

var scratchPool = sync.Pool{New: func() any { return newScratch() }}

// memberError places an encoding error inside the document.
type memberError struct {
	path []string
	err  error
}

func (e *memberError) Error() string {
	if len(e.path) == 0 {
		return e.err.Error()
	}
	return "at " + strings.Join(e.path, ".") + ": " + e.err.Error()
}

func (e *memberError) Unwrap() error { return e.err }

func inMember(name string, err error) error {
	var me *memberError
	if errors.As(err, &me) {
		me.path = append([]string{name}, me.path...)
		return me
	}
	return &memberError{path: []string{name}, err: err}
}

// syncRoot brings the encoding up to date with v (an addressable T),
// returning the new root node and whether the encoding changed. n may be
// nil to build it. It picks the way to encode by the document's size: a
// node encoded whole, or a tree (see codec).
func (c *codec) syncRoot(sc *scratch, n *node, v reflect.Value) (*node, bool, error) {
	if n == nil || n.whole {
		enc, err := c.encodeWhole(sc, v)
		if err != nil {
			return nil, false, &memberError{err: err}
		}
		if n != nil && bytes.Equal(enc, n.enc) {
			return n, false, nil
		}
		if c.root == nil || len(enc) < c.minTree {
			return &node{whole: true, enc: enc}, true, nil
		}
		// Large enough for the tree: build it. Its size is known now,
		// before a document is written (which keeps lastSize), so that
		// the next sync does not take it for shrunk.
		c.lastSize.Store(int64(len(enc)))
		nn, _, err := c.syncTree(sc, nil, v)
		return nn, true, err
	}
	nn, changed, err := c.syncTree(sc, n, v)
	if err == nil && int(c.lastSize.Load()) < c.minTree/2 {
		// Shrunk: back to encoding/json alone.
		enc, err := c.encodeWhole(sc, v)
		if err != nil {
			return nil, false, &memberError{err: err}
		}
		return &node{whole: true, enc: enc}, changed, nil
	}
	return nn, changed, err
}

// encodeWhole encodes v (an addressable T) compact, as encoding/json does.
func (c *codec) encodeWhole(sc *scratch, v reflect.Value) ([]byte, error) {
	enc, err := c.encodeLeaf(sc, v, true, -1)
	if err != nil {
		return nil, err
	}
	if c.readBack {
		// What is written must read back.
		if err := json.Unmarshal(enc, reflect.New(c.t).Interface()); err != nil {
			return nil, fmt.Errorf("the encoding does not decode back: %w", err)
		}
	}
	return enc, nil
}

// syncTree is syncRoot for a document kept as a tree.
func (c *codec) syncTree(sc *scratch, n *node, v reflect.Value) (*node, bool, error) {
	sc.commits = sc.commits[:0]
	nn, changed, err := c.sync(sc, childPlan{t: c.t, obj: c.root, addr: true}, n, v, 0)
	if err != nil {
		var me *memberError
		if !errors.As(err, &me) {
			err = &memberError{err: err}
		}
		clear(sc.commits)
		return nn, changed, err
	}
	for _, cm := range sc.commits {
		n := cm.n
		n.kids[cm.i] = cm.kid
		if n.snaps != nil {
			n.snaps[cm.i] = cm.kid.snapPtr
		}
		if n.valBase != nil {
			if w := n.index.at[cm.i]; w >= 0 && cm.kid.snap.IsValid() {
				n.vals.Index(int(w)).Set(cm.kid.snap)
			} else {
				n.vals, n.valBase = reflect.Value{}, nil
			}
		}
		if mc := n.cache; mc != nil {
			if len(mc.dirty) > len(n.kids)/8 {
				n.cache = nil // cheaper to write it all again
			} else {
				mc.dirty = append(mc.dirty, cm.i)
			}
		}
	}
	clear(sc.commits)
	return nn, changed, nil
}

func (c *codec) sync(sc *scratch, p childPlan, n *node, v reflect.Value, depth int) (*node, bool, error) {
	switch {
	case p.obj == nil:
		return c.syncLeaf(sc, p, n, v, depth)
	case p.obj.isMap:
		return c.syncMap(sc, p.obj, n, v, depth)
	}
	return c.syncStruct(sc, p.obj, n, v, depth)
}

func (c *codec) syncLeaf(sc *scratch, p childPlan, n *node, v reflect.Value, depth int) (*node, bool, error) {
	if n != nil && n.snap.IsValid() && p.ops.equal(v, n.snap) {
		return n, false, nil
	}
	enc, err := c.encodeLeaf(sc, v, p.addr, depth)
	if err != nil {
		return nil, false, err
	}
	if n != nil && bytes.Equal(enc, n.enc) && !(c.exact && n.snap.IsValid()) {
		return n, false, nil
	}
	// (A type without hidden state gets here with the same bytes only
	// for strings whose invalid UTF-8 encodes alike: the node is then
	// replaced all the same, since undo restores from its copy.)
	// What is written must read back.
	if err := json.Unmarshal(enc, reflect.New(p.t).Interface()); err != nil {
		return nil, false, fmt.Errorf("the encoding does not decode back: %w", err)
	}
	nn := &node{enc: enc}
	snap := reflect.New(p.t).Elem()
	if p.ops.copyInto(snap, v) {
		nn.snap = snap
		if p.ops.memEqual != nil {
			nn.snapPtr = unsafe.Pointer(snap.UnsafeAddr())
		}
	}
	return nn, true, nil
}

// encodeLeaf encodes v as encoding/json would inside its parent: through a
// pointer when the parent makes it addressable, so that pointer-receiver
// marshalers run as they would there. depth < 0 means compact.
func (c *codec) encodeLeaf(sc *scratch, v reflect.Value, addr bool, depth int) ([]byte, error) {
	sc.buf.Reset()
	var x any
	if addr && v.CanAddr() {
		x = v.Addr().Interface()
	} else {
		x = v.Interface()
	}
	if err := sc.enc.Encode(x); err != nil {
		return nil, err
	}
	b := sc.buf.Bytes()
	b = b[:len(b)-1] // Encode's newline
	if depth < 0 || c.indent == "" || (b[0] != '{' && b[0] != '[') {
		return bytes.Clone(b), nil
	}
	sc.ibuf.Reset()
	if err := json.Indent(&sc.ibuf, b, c.prefix(depth), c.indent); err != nil {
		return nil, err
	}
	return bytes.Clone(sc.ibuf.Bytes()), nil
}

func (c *codec) syncStruct(sc *scratch, p *objPlan, n *node, v reflect.Value, depth int) (*node, bool, error) {
	var kids []*node
	var present []bool
	if n == nil {
		kids, present = make([]*node, len(p.fields)), make([]bool, len(p.fields))
	}
	for i := range p.fields {
		f := &p.fields[i]
		fv := v.Field(f.index)
		var old *node
		if n != nil {
			old = n.kids[i]
		}
		// An omitted member is not encoded, as encoding/json does not
		// encode it (it may not encode at all): its node stays as it was,
		// and sync compares against it once the member shows again.
		pres := !f.omitted(fv)
		nk, changed := old, false
		if pres {
			var err error
			nk, changed, err = c.sync(sc, f.child, old, fv, depth+1)
			if err != nil {
				return nil, false, inMember(f.name, err)
			}
		}
		if n != nil && !changed && pres == n.present[i] {
			continue
		}
		if kids == nil {
			kids, present = slices.Clone(n.kids), slices.Clone(n.present)
		}
		kids[i], present[i] = nk, pres
	}
	if kids == nil {
		return n, false, nil
	}
	return &node{kids: kids, present: present}, true, nil
}

type kidChange struct {
	i int
	n *node
}

type entry struct {
	k  string
	ke []byte
	n  *node
}

func (c *codec) syncMap(sc *scratch, p *objPlan, n *node, v reflect.Value, depth int) (*node, bool, error) {
	if v.IsNil() {
		if n != nil && n.null {
			return n, false, nil
		}
		return &node{null: true, enc: []byte("null")}, true, nil
	}
	if n != nil && n.null {
		n = nil
	}
	kv := reflect.New(p.t.Key()).Elem()
	vv := reflect.New(p.t.Elem()).Elem()
	// The hot loop of an update: for plain records, compare in place.
	memEqual := p.elem.ops.memEqual
	if p.elem.obj != nil {
		memEqual = nil
	}
	vvPtr := unsafe.Pointer(vv.UnsafeAddr())
	var snaps []unsafe.Pointer
	if n != nil && memEqual != nil {
		snaps = n.snaps
	}
	var changes []kidChange
	var added []entry
	seen := 0
	var walk walker
	var valBase unsafe.Pointer
	var valSize uintptr
	if n != nil {
		walk = n.index.walk()
		if snaps != nil {
			valBase, valSize = n.valBase, p.t.Elem().Size()
		}
	}
	it := v.MapRange()
	for it.Next() {
		kv.SetIterKey(it)
		vv.SetIterValue(it)
		k := kv.String()
		if n != nil {
			if i, w, ok := walk.find(k); ok {
				seen++
				// Compare with the copy kept in walk order, read front
				// to back, or else with the kid's own.
				if valBase != nil && w >= 0 {
					if memEqual(vvPtr, unsafe.Add(valBase, uintptr(w)*valSize)) {
						continue
					}
				} else if snaps != nil && snaps[i] != nil && memEqual(vvPtr, snaps[i]) {
					continue
				}
				nk, changed, err := c.sync(sc, p.elem, n.kids[i], vv, depth+1)
				if err != nil {
					return nil, false, inMember(k, err)
				}
				if changed {
					changes = append(changes, kidChange{i, nk})
				}
				continue
			}
		}
		nk, _, err := c.sync(sc, p.elem, nil, vv, depth+1)
		if err != nil {
			return nil, false, inMember(k, err)
		}
		added = append(added, entry{k: k, n: nk})
	}
	if walk.done() && snaps != nil {
		layoutVals(p, n)
	}
	if n != nil && len(added) == 0 && seen == len(n.keys) {
		if len(changes) == 0 {
			return n, false, nil
		}
		// A large map changes a few members at a time: rather than copy
		// the node, change it in place, but only once the whole document
		// encoded (syncRoot), so that a failed update leaves the tree as
		// it was, for restore.
		for _, ch := range changes {
			sc.commits = append(sc.commits, kidCommit{n, ch.i, ch.n})
		}
		return n, true, nil
	}
	// Keys came or went: rebuild the order.
	ents := make([]entry, 0, seen+len(added))
	if n != nil {
		kids := slices.Clone(n.kids)
		for _, ch := range changes {
			kids[ch.i] = ch.n
		}
		for i, k := range n.keys {
			if seen < len(n.keys) {
				kv.SetString(k)
				if !v.MapIndex(kv).IsValid() {
					continue
				}
			}
			ents = append(ents, entry{k, n.keyEnc[i], kids[i]})
		}
	}
	for _, a := range added {
		ke, err := c.keyString(sc, a.k)
		if err != nil {
			return nil, false, err
		}
		a.ke = ke
		ents = append(ents, a)
	}
	slices.SortFunc(ents, func(a, b entry) int { return strings.Compare(a.k, b.k) })
	nn := &node{
		keys:   make([]string, len(ents)),
		keyEnc: make([][]byte, len(ents)),
		kids:   make([]*node, len(ents)),
	}
	for i, e := range ents {
		nn.keys[i], nn.keyEnc[i], nn.kids[i] = e.k, e.ke, e.n
	}
	nn.index, nn.keys = newKeyIndex(nn.keys)
	if memEqual != nil {
		nn.snaps = make([]unsafe.Pointer, len(ents))
		for i, kid := range nn.kids {
			nn.snaps[i] = kid.snapPtr
		}
	}
	return nn, true, nil
}

// layoutVals copies the snaps of the map node n's kids into one array, in
// the order of its index, where a walk of the map reads them front to back.
func layoutVals(p *objPlan, n *node) {
	order := n.index.order
	vals := reflect.MakeSlice(reflect.SliceOf(p.t.Elem()), len(order), len(order))
	for w, i := range order {
		kid := n.kids[i]
		if !kid.snap.IsValid() {
			n.vals, n.valBase = reflect.Value{}, nil
			return
		}
		vals.Index(w).Set(kid.snap)
	}
	n.vals, n.valBase = vals, vals.UnsafePointer()
}

// keyString encodes a key as a JSON string, as encoding/json does.
func (c *codec) keyString(sc *scratch, k string) ([]byte, error) {
	sc.buf.Reset()
	if err := sc.enc.Encode(k); err != nil {
		return nil, err
	}
	b := sc.buf.Bytes()
	return bytes.Clone(b[:len(b)-1]), nil
}

// writeNode appends the node's encoding at depth: a leaf's cached bytes,
// or an object written member by member. Objects are not cached whole:
// writing them again costs the same copy as copying a cached encoding.
func (c *codec) writeNode(b []byte, p childPlan, n *node, depth int) []byte {
	if p.obj == nil || n.null {
		return append(b, n.enc...)
	}
	if p.obj.isMap {
		if len(n.kids) >= minCachedMap {
			return c.appendMap(b, p.obj, n, depth)
		}
		return c.writeObject(b, depth, nil, len(n.kids), func(b []byte, i int) []byte {
			b = append(b, n.keyEnc[i]...)
			b = append(b, c.sep...)
			return c.writeNode(b, p.obj.elem, n.kids[i], depth+1)
		}, nil)
	}
	idx := presentFields(n)
	return c.writeObject(b, depth, nil, len(idx), func(b []byte, i int) []byte {
		f := &p.obj.fields[idx[i]]
		b = append(b, f.key...)
		b = append(b, c.sep...)
		return c.writeNode(b, f.child, n.kids[idx[i]], depth+1)
	}, nil)
}

// appendMap appends the encoding of the map node n at depth, from its
// cache: as it was if no member changed since, spliced if some did, and
// written whole the first time. The cache then points at what was
// appended: the document is the only copy of the encoding (see mapCache).
func (c *codec) appendMap(b []byte, p *objPlan, n *node, depth int) []byte {
	mc := n.cache
	if mc == nil {
		mc = &mapCache{vals: make([]int32, 2*len(n.kids))}
		start := len(b)
		b = c.writeObject(b, depth, nil, len(n.kids), func(b []byte, i int) []byte {
			b = append(b, n.keyEnc[i]...)
			b = append(b, c.sep...)
			mc.vals[2*i] = int32(len(b) - start)
			b = c.writeNode(b, p.elem, n.kids[i], depth+1)
			mc.vals[2*i+1] = int32(len(b) - start)
			return b
		}, nil)
		mc.enc = bytes.Clone(b[start:])
		mc.sum = crc32.Checksum(mc.enc, castagnoli)
		n.cache = mc
		return b
	}
	slices.Sort(mc.dirty)
	mc.dirty = slices.Compact(mc.dirty)
	if crc32.Checksum(mc.enc, castagnoli) != mc.sum || !c.spliceable(mc, len(n.kids)) {
		n.cache = nil // written from the members next time
		panic(badCache{})
	}
	base := len(b)
	pos, next := int32(0), 0 // copied enc[:pos]; members before next are placed
	var delta int32          // where the rest of enc moves to
	shift := func(to int) {
		for j := 2 * next; j < 2*to; j++ {
			mc.vals[j] += delta
		}
	}
	for _, i := range mc.dirty {
		shift(i)
		start, end := mc.vals[2*i], mc.vals[2*i+1]
		b = append(b, mc.enc[pos:start]...)
		mc.vals[2*i] = int32(len(b) - base)
		b = c.writeNode(b, p.elem, n.kids[i], depth+1)
		mc.vals[2*i+1] = int32(len(b) - base)
		delta = int32(len(b)-base) - end
		pos, next = end, i+1
	}
	shift(len(n.kids))
	b = append(b, mc.enc[pos:]...)
	// Copied, not kept as a slice of b: b is a document buffer the store
	// reuses, and an inner map's cache must stay good while an outer one
	// copies it as bytes.
	mc.enc = append(mc.enc[:0], b[base:]...)
	mc.sum = crc32.Checksum(mc.enc, castagnoli)
	mc.dirty = mc.dirty[:0]
	return b
}

// spliceable checks, at a cost of the changed members only, that each
// place appendMap will splice into its cache is one whole member value:
// right after a key's separator, right before the comma, newline or brace
// that ends it. Together with leaves that passed a decode when encoded
// (syncLeaf) and objects written by writeObject, this is what keeps the
// document valid JSON without a check of all of it (see document).
func (c *codec) spliceable(mc *mapCache, members int) bool {
	if len(mc.vals) != 2*members {
		return false
	}
	sepEnd := c.sep[len(c.sep)-1]
	for _, i := range mc.dirty {
		if i < 0 || i >= members {
			return false
		}
		start, end := int(mc.vals[2*i]), int(mc.vals[2*i+1])
		if start < 1 || end < start || end >= len(mc.enc) || mc.enc[start-1] != sepEnd {
			return false
		}
		switch mc.enc[end] {
		case ',', '\n', '}':
		default:
			return false
		}
	}
	return true
}

func presentFields(n *node) []int {
	idx := make([]int, 0, len(n.kids))
	for i, ok := range n.present {
		if ok {
			idx = append(idx, i)
		}
	}
	return idx
}

// member is a top-level key and value kept outside T: the schema version
// and unknown fields.
type member struct {
	key []byte // JSON string
	val []byte // indented for depth 1 (compact when the codec is)
	raw []byte // compact
}

// writeObject appends a JSON object at depth: pre, then the n members
// that member appends (key, separator and value), then post. It writes
// exactly what json.Indent (or json.Compact) would.
func (c *codec) writeObject(b []byte, depth int, pre []member, n int, member func([]byte, int) []byte, post []member) []byte {
	total := len(pre) + n + len(post)
	if total == 0 {
		return append(b, "{}"...)
	}
	inner, outer := c.prefix(depth+1), c.prefix(depth)
	b = append(b, '{')
	for i := range total {
		if i > 0 {
			b = append(b, ',')
		}
		if c.indent != "" {
			b = append(b, '\n')
			b = append(b, inner...)
		}
		switch {
		case i < len(pre):
			b = append(append(append(b, pre[i].key...), c.sep...), pre[i].val...)
		case i < len(pre)+n:
			b = member(b, i-len(pre))
		default:
			m := post[i-len(pre)-n]
			b = append(append(append(b, m.key...), c.sep...), m.val...)
		}
	}
	if c.indent != "" {
		b = append(b, '\n')
		b = append(b, outer...)
	}
	return append(b, '}')
}

// document appends the whole file to buf: the schema version first, then
// T's members, then the unknown fields in the order the file had them.
//
// It never returns invalid JSON. A document encoded whole passes
// json.Indent, or json.Valid when compact. One written from the tree is
// not checked whole, which would cost more than the rest of an update (a
// quarter of a millisecond at 100 KB, BenchmarkCodecPaths): it is made of
// leaves that encoding/json wrote and decoded back when they changed
// (syncLeaf), keys it quoted, the punctuation of writeObject, and large
// maps' cached encodings, which are private copies checked by a checksum
// and by the places they are spliced at before they are reused.
func (c *codec) document(buf []byte, st *state) (_ []byte, err error) {
	if want := int(c.lastSize.Load())*9/8 + 512; cap(buf) < want {
		buf = make([]byte, 0, want)
	}
	defer func() { c.lastSize.Store(int64(len(buf))) }()
	var pre []member
	if c.schemaKey != "" && st.version > 0 {
		v := fmt.Appendf(nil, "%d", st.version)
		pre = []member{{key: quoteKey(c.schemaKey), val: v, raw: v}}
	}
	if n := st.root; !n.whole {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(badCache); !ok {
					panic(p)
				}
				err = errInvalidDocument
			}
		}()
		var out []byte
		if c.root.isMap {
			out = c.writeObject(buf, 0, pre, len(n.kids), func(b []byte, i int) []byte {
				b = append(b, n.keyEnc[i]...)
				b = append(b, c.sep...)
				return c.writeNode(b, c.root.elem, n.kids[i], 1)
			}, st.unknown)
		} else {
			idx := presentFields(n)
			out = c.writeObject(buf, 0, pre, len(idx), func(b []byte, i int) []byte {
				f := &c.root.fields[idx[i]]
				b = append(b, f.key...)
				b = append(b, c.sep...)
				return c.writeNode(b, f.child, n.kids[idx[i]], 1)
			}, st.unknown)
		}
		// Not checked whole: see above.
		buf = append(out, '\n')
		return buf, nil
	}
	doc := st.root.enc // compact
	if c.t.Kind() == reflect.Map && string(doc) == "null" {
		doc = []byte("{}") // as the tree writes a nil map at the root
	}
	if len(pre) > 0 || len(st.unknown) > 0 {
		if len(doc) < 2 || doc[0] != '{' {
			return nil, errors.New("the document does not encode as a JSON object, so it cannot hold a schema version or unknown fields")
		}
		var b []byte
		b = append(b, '{')
		for _, m := range pre {
			b = append(append(append(append(b, m.key...), ':'), m.raw...), ',')
		}
		b = append(b, doc[1:len(doc)-1]...)
		for _, m := range st.unknown {
			if len(b) > 1 && b[len(b)-1] != ',' {
				b = append(b, ',')
			}
			b = append(append(append(b, m.key...), ':'), m.raw...)
		}
		if b[len(b)-1] == ',' {
			b = b[:len(b)-1]
		}
		doc = append(b, '}')
	}
	if c.indent == "" {
		buf = append(append(buf, doc...), '\n')
		return c.checked(buf)
	}
	out := bytes.NewBuffer(buf)
	out.Grow(len(doc) * 5 / 4)
	if err := json.Indent(out, doc, "", c.indent); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	// json.Indent has checked it: it refuses what is not valid JSON.
	return out.Bytes(), nil
}

// errInvalidDocument is what document returns rather than publish
// something that is not JSON: a defect of the encoder, never of the value.
var errInvalidDocument = errors.New("store: the encoder produced invalid JSON; nothing was written")

// checked returns doc if it is valid JSON: the last line of defence for
// what the tree splices together from cached bytes, and for a compact
// document (an indented one encoded whole has passed json.Indent, which
// refuses invalid JSON). json.Valid costs about a fifth of what
// encoding/json takes to encode the document (BenchmarkCodecPaths).
func (c *codec) checked(doc []byte) ([]byte, error) {
	if !json.Valid(doc) {
		return nil, errInvalidDocument
	}
	return doc, nil
}

func quoteKey(k string) []byte {
	b, _ := json.Marshal(k)
	return b
}
