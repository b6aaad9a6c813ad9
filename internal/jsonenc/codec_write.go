package jsonenc

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/crc32"
	"reflect"
	"slices"
)

// mapCache is a large map node's last encoding, so that writing the map
// again after a few members changed (in place, see syncMap) is a splice
// rather than a walk of every member. The encoding is kept in blocks of
// about cacheBlock bytes, each cut right after a member's value: a change
// rewrites the block that holds it, and every other block is copied as it
// is, so the work of a write beyond the copy of the document is that of
// the members that changed, whatever the size of the map. Blocks are the
// cache's own memory, never a slice of a document: document buffers are
// reused, and an inner map's encoding is copied as bytes by an outer map's
// splice while the inner cache lives on, so a cache that pointed into a
// document would one day splice from memory overwritten since.
//
// A block is reused only if it still holds what was written (sum) and the
// places to splice are whole members (spliceable): a document is not
// checked whole before it is published (see Append), so what is copied
// from memory kept across updates is checked, at a cost far below
// json.Valid's.
type mapCache struct {
	blocks  []cacheBlock
	blockOf []int32 // the block that holds member i's value
	dirty   []int   // members changed since the blocks were written
	spare   []byte  // a block's memory, free to write the next one into
}

// cacheBlock is a run of a map's encoding: the bytes from the end of the
// value of member first-1 (the map's start for the first block) to the end
// of the value of member first+len(vals)/2-1 (the map's end for the last).
type cacheBlock struct {
	enc   []byte
	sum   uint32  // CRC-32C of enc
	first int     // the first member whose value the block holds
	vals  []int32 // member first+j's value is enc[vals[2j]:vals[2j+1]]
}

// defaultBlockSize is the size from which a block is cut at the next
// member's end (Codec.blockSize): small enough that rewriting one is cheap
// next to the file's write, large enough that the blocks of a 10 MB map
// are few.
const defaultBlockSize = 16 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// badCache is the panic with which appendMap stops writing a document
// from a cache that fails its checks; Append recovers it and refuses to
// publish (ErrInvalidDocument), as encoding/json stops on its own errors.
type badCache struct{}

// defaultMinCachedMap is the size from which a map keeps its encoding
// (Codec.minCached).
const defaultMinCachedMap = 32

// SetMapCache sets the number of members from which a map keeps its
// encoding, and the size of the blocks it is kept in (see mapCache); 0
// keeps the default. The tests make both small, so that every map of
// their documents is spliced, across many blocks. It must be called
// before the Codec is used.
func (c *Codec) SetMapCache(minMembers, blockSize int) {
	if minMembers > 0 {
		c.minCached = minMembers
	}
	if blockSize > 0 {
		c.blockSize = blockSize
	}
}

// writeNode appends the node's encoding at depth: a leaf's cached bytes,
// or an object written member by member. Objects are not cached whole:
// writing them again costs the same copy as copying a cached encoding.
func (c *Codec) writeNode(b []byte, p childPlan, n *node, depth int) []byte {
	if p.obj == nil || n.null {
		return append(b, n.enc...)
	}
	if p.obj.isMap {
		if len(n.kids) >= c.minCached {
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
// cache: its blocks as they were, the ones holding members changed since
// spliced first, or all of it written from the members the first time.
func (c *Codec) appendMap(b []byte, p *objPlan, n *node, depth int) []byte {
	mc := n.cache
	if mc == nil {
		start := len(b)
		vals := make([]int32, 2*len(n.kids))
		b = c.writeObject(b, depth, nil, len(n.kids), func(b []byte, i int) []byte {
			b = append(b, n.keyEnc[i]...)
			b = append(b, c.sep...)
			vals[2*i] = int32(len(b) - start)
			b = c.writeNode(b, p.elem, n.kids[i], depth+1)
			vals[2*i+1] = int32(len(b) - start)
			return b
		}, nil)
		n.cache = newMapCache(b[start:], vals, c.blockSize)
		return b
	}
	slices.Sort(mc.dirty)
	mc.dirty = slices.Compact(mc.dirty)
	if !c.spliceable(mc, len(n.kids)) {
		n.cache = nil // written from the members next time
		panic(badCache{})
	}
	d := mc.dirty
	for bi := range mc.blocks {
		blk := &mc.blocks[bi]
		if crc32.Checksum(blk.enc, castagnoli) != blk.sum {
			n.cache = nil
			panic(badCache{})
		}
		last := blk.first + len(blk.vals)/2
		if len(d) == 0 || d[0] >= last {
			b = append(b, blk.enc...)
			continue
		}
		// Splice the block's changed members into a new block.
		// Into the memory of the block replaced last time: nothing else
		// holds it.
		enc := mc.spare[:0]
		if need := len(blk.enc) + len(blk.enc)/8 + 64; cap(enc) < need {
			enc = make([]byte, 0, need)
		}
		pos, next := int32(0), 0 // copied blk.enc[:pos]; members before next are placed
		var delta int32          // where the rest of blk.enc moves to
		shift := func(to int) {
			for j := 2 * next; j < 2*to; j++ {
				blk.vals[j] += delta
			}
		}
		for len(d) > 0 && d[0] < last {
			j := d[0] - blk.first
			d = d[1:]
			shift(j)
			start, end := blk.vals[2*j], blk.vals[2*j+1]
			enc = append(enc, blk.enc[pos:start]...)
			blk.vals[2*j] = int32(len(enc))
			enc = c.writeNode(enc, p.elem, n.kids[blk.first+j], depth+1)
			blk.vals[2*j+1] = int32(len(enc))
			delta = int32(len(enc)) - end
			pos, next = end, j+1
		}
		shift(len(blk.vals) / 2)
		enc = append(enc, blk.enc[pos:]...)
		mc.spare = blk.enc
		blk.enc, blk.sum = enc, crc32.Checksum(enc, castagnoli)
		b = append(b, enc...)
	}
	mc.dirty = mc.dirty[:0]
	return b
}

// newMapCache cuts a map's encoding enc, whose member i has its value at
// enc[vals[2i]:vals[2i+1]], into blocks of its own memory, each cut at
// the first member end past blockSize bytes.
func newMapCache(enc []byte, vals []int32, blockSize int) *mapCache {
	members := len(vals) / 2
	mc := &mapCache{blockOf: make([]int32, members)}
	cut, first := int32(0), 0
	for i := range members {
		mc.blockOf[i] = int32(len(mc.blocks))
		end := vals[2*i+1]
		if i == members-1 {
			end = int32(len(enc)) // the last block holds the map's end
		} else if int(end-cut) < blockSize {
			continue
		}
		bv := make([]int32, 0, 2*(i+1-first))
		for j := first; j <= i; j++ {
			bv = append(bv, vals[2*j]-cut, vals[2*j+1]-cut)
		}
		blk := bytes.Clone(enc[cut:end])
		mc.blocks = append(mc.blocks, cacheBlock{enc: blk, sum: crc32.Checksum(blk, castagnoli), first: first, vals: bv})
		cut, first = end, i+1
	}
	return mc
}

// spliceable checks, at a cost of the changed members only, that each
// place appendMap will splice into its cache is one whole member value:
// right after a key's separator, right before the comma, newline or brace
// that ends it. Together with leaves that passed a decode when encoded
// (syncLeaf) and objects written by writeObject, this is what keeps the
// document valid JSON without a check of all of it (see Append).
func (c *Codec) spliceable(mc *mapCache, members int) bool {
	if len(mc.blockOf) != members || len(mc.blocks) == 0 {
		return false
	}
	sepEnd := c.sep[len(c.sep)-1]
	for _, i := range mc.dirty {
		if i < 0 || i >= members {
			return false
		}
		bi := int(mc.blockOf[i])
		if bi < 0 || bi >= len(mc.blocks) {
			return false
		}
		blk := &mc.blocks[bi]
		j := i - blk.first
		if j < 0 || 2*j+1 >= len(blk.vals) {
			return false
		}
		start, end := int(blk.vals[2*j]), int(blk.vals[2*j+1])
		if start < 1 || end < start || end > len(blk.enc) || blk.enc[start-1] != sepEnd {
			return false
		}
		// What ends the value: in its block, or the first byte of the
		// next block (a cut is always right after a value).
		var after byte
		switch {
		case end < len(blk.enc):
			after = blk.enc[end]
		case bi+1 < len(mc.blocks) && len(mc.blocks[bi+1].enc) > 0:
			after = mc.blocks[bi+1].enc[0]
		default:
			return false
		}
		switch after {
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

// Member is a top-level key and value that Append writes beside the
// value's own: the store's schema version and the unknown fields a file
// held. Make one with Codec.Member.
type Member struct {
	key []byte // JSON string
	val []byte // indented for depth 1 (compact when the codec is)
	raw []byte // compact
}

// Member returns the top-level member key: val, where val is valid JSON,
// laid out as the Codec writes a member at depth 1.
func (c *Codec) Member(key string, val []byte) Member {
	var buf bytes.Buffer
	json.Compact(&buf, val)
	raw := bytes.Clone(buf.Bytes())
	v := raw
	if c.indent != "" && len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') {
		buf.Reset()
		json.Indent(&buf, raw, c.prefix(1), c.indent)
		v = bytes.Clone(buf.Bytes())
	}
	return Member{key: quoteKey(key), val: v, raw: raw}
}

// writeObject appends a JSON object at depth: pre, then the n members
// that member appends (key, separator and value), then post. It writes
// exactly what json.Indent (or json.Compact) would.
func (c *Codec) writeObject(b []byte, depth int, pre []Member, n int, member func([]byte, int) []byte, post []Member) []byte {
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

// Append appends the document to buf, followed by a newline: the members
// pre, then the value's own (as Sync last saw it in tree), then post. With
// no pre or post members it is what json.MarshalIndent(v, "", indent)
// writes (or json.Marshal when compact, both without HTML escaping), but
// for a nil map at the root, written as {}; with some, the value must
// encode as a JSON object.
//
// It never returns invalid JSON (ErrInvalidDocument instead). A document
// encoded whole passes json.Indent, or json.Valid when compact. One
// written from the tree is not checked whole, which would cost more than
// the rest of an update (a quarter of a millisecond at 100 KB,
// BenchmarkCodecPaths): it is made of leaves that encoding/json wrote and
// decoded back when they changed (syncLeaf), keys it quoted, the
// punctuation of writeObject, and large maps' cached encodings, which are
// private copies checked by a checksum and by the places they are spliced
// at before they are reused.
func (c *Codec) Append(buf []byte, tree *Tree, pre, post []Member) (_ []byte, err error) {
	if want := int(c.lastSize.Load())*9/8 + 512; cap(buf)-len(buf) < want {
		buf = append(make([]byte, 0, len(buf)+want), buf...)
	}
	defer func() { c.lastSize.Store(int64(len(buf))) }()
	if n := (*node)(tree); !n.whole {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(badCache); !ok {
					panic(p)
				}
				err = ErrInvalidDocument
			}
		}()
		var out []byte
		if c.root.isMap {
			out = c.writeObject(buf, 0, pre, len(n.kids), func(b []byte, i int) []byte {
				b = append(b, n.keyEnc[i]...)
				b = append(b, c.sep...)
				return c.writeNode(b, c.root.elem, n.kids[i], 1)
			}, post)
		} else {
			idx := presentFields(n)
			out = c.writeObject(buf, 0, pre, len(idx), func(b []byte, i int) []byte {
				f := &c.root.fields[idx[i]]
				b = append(b, f.key...)
				b = append(b, c.sep...)
				return c.writeNode(b, f.child, n.kids[idx[i]], 1)
			}, post)
		}
		// Not checked whole: see above.
		buf = append(out, '\n')
		return buf, nil
	}
	doc := tree.enc // compact
	if c.t.Kind() == reflect.Map && string(doc) == "null" {
		doc = []byte("{}") // as the tree writes a nil map at the root
	}
	if len(pre) > 0 || len(post) > 0 {
		if len(doc) < 2 || doc[0] != '{' {
			return nil, errors.New("the document does not encode as a JSON object, so it cannot hold a schema version or unknown fields")
		}
		var b []byte
		b = append(b, '{')
		for _, m := range pre {
			b = append(append(append(append(b, m.key...), ':'), m.raw...), ',')
		}
		b = append(b, doc[1:len(doc)-1]...)
		for _, m := range post {
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
		start := len(buf)
		buf = append(append(buf, doc...), '\n')
		if !json.Valid(buf[start:]) {
			return nil, ErrInvalidDocument
		}
		return buf, nil
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

// ErrInvalidDocument is what Append returns rather than produce something
// that is not JSON: a defect of the encoder, never of the value.
var ErrInvalidDocument = errors.New("store: the encoder produced invalid JSON; nothing was written")

func quoteKey(k string) []byte {
	b, _ := json.Marshal(k)
	return b
}
