package jsonenc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Codec encodes the values of one Go type. What it writes is byte for
// byte what encoding/json writes (json.Marshal of a pointer to the value,
// without HTML escaping, then json.Indent), which the tests check against
// encoding/json after every update, under a fuzzer.
//
// A small document is encoded whole by encoding/json every time (a Tree
// with whole set): that is as fast as anything cleverer. A large one of an
// object type (see plan.go) is encoded incrementally: the encoding is a
// tree of nodes mirroring the value, an object node per plain struct or
// string-keyed map, a leaf per other value. Each node keeps its encoding
// (indented for its depth) and each leaf a deep copy of the value it
// encoded. After an update, Sync walks the value against the tree: equal
// leaves cost a comparison, changed ones are encoded again, and only the
// objects on the path to a change are reassembled. Leaves whose encoding
// may depend on what the comparison does not see (marshalers, IsZero
// methods, unexported fields under omitzero, TextMarshaler keys) are never
// equal: they are encoded again and compared as bytes (see ops.go).
// Nodes are replaced, not changed, except a map's members, which change in
// place once the whole document encoded (see syncTree); a large map also
// keeps a private copy of its encoding, in blocks, and rewrites only the
// blocks that hold a changed member (see mapCache).
//
// A failed Sync changes no node, so the tree still describes the value as
// it was before the update: for a type without hidden state, the undo
// rebuilds the value from it (undo.go). Writing the document from the tree
// is in codec_write.go.
//
// Sync and Append on one Tree must not run concurrently; a Codec is shared
// freely.
type Codec struct {
	t        reflect.Type
	root     *objPlan // nil: the document is always encoded whole
	indent   string   // "" writes compact JSON
	prefixes []string
	sep      string // between a key and its value
	lastSize atomic.Int64

	// minTree is the size of document (in bytes, compact) from which the
	// encoding is kept as a tree; below half of it the tree is dropped
	// again. BenchmarkCodecTreeRatio shows where the tree wins 2x.
	minTree int
	// readBack: a whole encoding is decoded again to check that it reads
	// back, because T holds something whose decoding may refuse what its
	// encoding wrote (a custom unmarshaler, a non-empty interface).
	readBack bool
	// minCached and blockSize: see mapCache and SetMapCache.
	minCached, blockSize int
	// exact: T has no hidden state, so the tree's snapshots undo a failed
	// update (see undo.go).
	exact bool
	// members: SetMember's verdict on each field of the root (memberSafe).
	members sync.Map
}

// Tree is the encoding of one value as Sync last brought it up to date;
// nil stands for no encoding yet. It belongs to the Codec that made it.
type Tree node

// defaultMinTree is Codec.minTree for a type with hidden state, whose
// updates pay a deep copy for their undo either way: the tree wins 2x
// (whole/tree, medians of alternating runs in BenchmarkCodecTreeRatio)
// from about 100 KB of indented JSON (about 70 KiB compact).
const defaultMinTree = 128 << 10

// exactMinTree is Codec.minTree for a type without hidden state, where
// the tree also spares the deep copy (undo.go): whole/tree in
// BenchmarkCodecTreeRatio is 5 at 1 KB, 10 at 10 KB, 13 at 20 KB, 20 at
// 100 KB and 1 MB. Below it the savings are a few microseconds, a small
// share of a file write, and encoding/json alone is the simpler path.
const exactMinTree = 16 << 10

// New returns a Codec for values of type t, written indented by indent
// (as json.MarshalIndent(v, "", indent) writes them), or compact when
// indent is "".
func New(t reflect.Type, indent string) *Codec {
	c := &Codec{t: t, indent: indent, minCached: defaultMinCachedMap, blockSize: defaultBlockSize}
	c.root = planFor(t)
	c.minTree = defaultMinTree
	c.readBack = mayNotReadBack(t, map[reflect.Type]bool{})
	c.exact = exactType(t, map[reflect.Type]bool{})
	if c.exact {
		c.minTree = exactMinTree
	}
	c.sep = ": "
	if indent == "" {
		c.sep = ":"
	}
	for d := range 16 {
		c.prefixes = append(c.prefixes, strings.Repeat(indent, d))
	}
	return c
}

func (c *Codec) prefix(depth int) string {
	if depth < len(c.prefixes) {
		return c.prefixes[depth]
	}
	return strings.Repeat(c.indent, depth)
}

// node is one member's encoding; see Codec.
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
	table   *mapTable        // map of plain records: its table as the node describes it (maptable.go)

	// map of leaves: the members replaced in place since the last Shape
	// (patch.go), while shapeGen is not 0.
	edits     []kidEdit
	editsLost bool   // more than maxEdits: not all are in edits
	shapeGen  uint64 // how many shapes were taken of the node
	null      bool   // map: nil, written as null
}

// scratch is working space for one goroutine.
type scratch struct {
	buf     bytes.Buffer
	enc     *json.Encoder
	ibuf    bytes.Buffer
	commits []kidCommit // see syncMap
	tables  []tableCommit
	tbuf    []byte // the groups tables holds
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

// Sync brings the encoding tree up to date with v, an addressable value of
// the Codec's type, and returns the new tree and whether the encoding
// changed; tree may be nil to build it. It picks the way to encode by the
// document's size: encoding/json for the whole value, or a tree (see
// Codec). On error the tree passed in is unchanged and still describes the
// value as it was, and the error names the member that failed.
func (c *Codec) Sync(tree *Tree, v reflect.Value) (*Tree, bool, error) {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	n, changed, err := c.syncRoot(sc, (*node)(tree), v)
	return (*Tree)(n), changed, err
}

// SetTreeThreshold sets the size of document (in bytes, compact) from
// which Sync keeps the encoding as a tree rather than encode the whole
// value with encoding/json; 0 keeps a tree at every size. It must be
// called before the Codec is used.
func (c *Codec) SetTreeThreshold(n int) { c.minTree = n }

// PreferTree keeps the encoding as a tree at every size where the tree is
// as fast as encoding/json alone (a type without hidden state: see
// exactMinTree), for a caller that takes a merge patch of every update
// (Shape, MergePatch), whose cost then follows the change rather than the
// document. It must be called before the Codec is used.
func (c *Codec) PreferTree() {
	if c.exact && c.root != nil {
		c.minTree = 0
	}
}

// Custom reports whether t (or *t) decides its own JSON or text form,
// which the Codec then never looks into.
func Custom(t reflect.Type) bool { return custom(t) }

func (c *Codec) syncRoot(sc *scratch, n *node, v reflect.Value) (*node, bool, error) {
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
func (c *Codec) encodeWhole(sc *scratch, v reflect.Value) ([]byte, error) {
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
func (c *Codec) syncTree(sc *scratch, n *node, v reflect.Value) (*node, bool, error) {
	sc.commits = sc.commits[:0]
	sc.tables, sc.tbuf = sc.tables[:0], sc.tbuf[:0]
	nn, changed, err := c.sync(sc, childPlan{t: c.t, obj: c.root, addr: true}, n, v, 0)
	if err != nil {
		var me *memberError
		if !errors.As(err, &me) {
			err = &memberError{err: err}
		}
		clear(sc.commits)
		clear(sc.tables)
		sc.tables = sc.tables[:0]
		return nn, changed, err
	}
	for _, tc := range sc.tables {
		switch {
		case tc.t == nil:
			tc.n.table = tc.install
		case tc.unstale:
			tc.t.stale = tc.t.stale[:0]
		default:
			copy(tc.t.mem[tc.off:], sc.tbuf[tc.at:tc.at+tc.size])
		}
	}
	clear(sc.tables)
	sc.tables, sc.tbuf = sc.tables[:0], sc.tbuf[:0]
	for _, cm := range sc.commits {
		cm.n.commitKid(cm.i, cm.kid)
	}
	clear(sc.commits)
	return nn, changed, nil
}

// commitKid replaces member i of the map node n in place with kid, and
// brings what n keeps beside its members up to date: the edit list, the
// snapshots compared in place, and the cached encoding.
func (n *node) commitKid(i int, kid *node) {
	n.recordEdit(i)
	n.kids[i] = kid
	if n.snaps != nil {
		n.snaps[i] = kid.snapPtr
	}
	if n.valBase != nil {
		if w := n.index.at[i]; w >= 0 && kid.snap.IsValid() {
			n.vals.Index(int(w)).Set(kid.snap)
		} else {
			n.vals, n.valBase = reflect.Value{}, nil
		}
	}
	if mc := n.cache; mc != nil {
		if len(mc.dirty) > len(n.kids)/8 {
			n.cache = nil // cheaper to write it all again
		} else {
			mc.dirty = append(mc.dirty, i)
		}
	}
}

func (c *Codec) sync(sc *scratch, p childPlan, n *node, v reflect.Value, depth int) (*node, bool, error) {
	switch {
	case p.obj == nil:
		return c.syncLeaf(sc, p, n, v, depth)
	case p.obj.isMap:
		return c.syncMap(sc, p.obj, n, v, depth)
	}
	return c.syncStruct(sc, p.obj, n, v, depth)
}

func (c *Codec) syncLeaf(sc *scratch, p childPlan, n *node, v reflect.Value, depth int) (*node, bool, error) {
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
	// What is written must read back. Only a type that may refuse its own
	// encoding needs the check (readBack, as for a whole encoding): a leaf
	// is part of T, and T has no such part otherwise.
	if c.readBack {
		if err := json.Unmarshal(enc, reflect.New(p.t).Interface()); err != nil {
			return nil, false, fmt.Errorf("the encoding does not decode back: %w", err)
		}
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
func (c *Codec) encodeLeaf(sc *scratch, v reflect.Value, addr bool, depth int) ([]byte, error) {
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

func (c *Codec) syncStruct(sc *scratch, p *objPlan, n *node, v reflect.Value, depth int) (*node, bool, error) {
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

func (c *Codec) syncMap(sc *scratch, p *objPlan, n *node, v reflect.Value, depth int) (*node, bool, error) {
	if v.IsNil() {
		if n != nil && n.null {
			return n, false, nil
		}
		return &node{null: true, enc: []byte("null")}, true, nil
	}
	if n != nil && n.null {
		n = nil
	}
	if n != nil && n.table != nil && p.table != nil && tablePeekOK {
		if changed, ok, err := c.syncMapTable(sc, p, n, v, depth); err != nil {
			return nil, false, err
		} else if ok {
			return n, changed, nil
		}
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
		// Read the key and value where the map keeps them, and copy the
		// value out only to encode it (mapiter.go).
		var k string
		kp, cur := iterPtrs(it)
		if kp != nil {
			k = *(*string)(kp)
		} else {
			kv.SetIterKey(it)
			k = kv.String()
		}
		if cur == nil {
			vv.SetIterValue(it)
			cur = vvPtr
		}
		copied := cur == vvPtr
		if n != nil {
			if i, w, ok := walk.find(k); ok {
				seen++
				// Compare with the copy kept in walk order, read front
				// to back, or else with the kid's own.
				if valBase != nil && w >= 0 {
					if memEqual(cur, unsafe.Add(valBase, uintptr(w)*valSize)) {
						continue
					}
				} else if snaps != nil && snaps[i] != nil && memEqual(cur, snaps[i]) {
					continue
				}
				if !copied {
					vv.SetIterValue(it)
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
		if !copied {
			vv.SetIterValue(it)
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
			c.retakeTable(sc, p, n, v)
			return n, false, nil
		}
		// A large map changes a few members at a time: rather than copy
		// the node, change it in place, but only once the whole document
		// encoded (syncRoot), so that a failed update leaves the tree as
		// it was, for restore.
		for _, ch := range changes {
			sc.commits = append(sc.commits, kidCommit{n, ch.i, ch.n})
		}
		c.retakeTable(sc, p, n, v)
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
	if p.table != nil && tablePeekOK {
		nn.table = takeTable(p.table, nn, v)
	}
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
func (c *Codec) keyString(sc *scratch, k string) ([]byte, error) {
	sc.buf.Reset()
	if err := sc.enc.Encode(k); err != nil {
		return nil, err
	}
	b := sc.buf.Bytes()
	return bytes.Clone(b[:len(b)-1]), nil
}
