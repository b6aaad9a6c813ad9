package jsonenc

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
)

// Merge patches (RFC 7386) between two versions of a document, for the
// store's log mode: MergePatch derives the patch from what Sync changed in
// the tree, so that its cost follows the change, not the document, and
// ApplyMergePatch applies one to a value, member by member down to the
// leaves it names.
//
// A merge patch cannot set a member to null: null deletes it. A change
// that needs one (a nil pointer, slice or map written as null inside an
// object) has no exact merge patch; MergePatch says so, and the caller
// records the whole document instead.
//
// The tests compare both against the plain path: encode the old and the new
// value with encoding/json, compute the merge patch of the two generically,
// apply it to the old encoding, and compare with the new (patch_test.go,
// FuzzMergePatch).

// Shape is what MergePatch needs to know of a tree before an update
// changes it. Sync replaces the nodes it changes, except the members of a
// map, which it changes in place. For a map of leaves, Shape starts the
// map node's edit list (node.edits), where each member replaced from then
// on leaves the member it replaced: MergePatch reads what changed there,
// at a cost that follows the change, not the map. A map of objects, whose
// members may change inside, gets a copy of its member pointers. Taking a
// shape ends the edit lists of the shapes taken before: MergePatch with an
// older shape is not exact (see shapeGen).
type Shape struct {
	root  *node
	maps  map[*node][]*node // maps of objects: their members
	edits shapeGens         // maps of leaves: their shapeGen when taken
}

// Shape returns the shape of tree, to pass to MergePatch once the update
// is synced.
func (c *Codec) Shape(tree *Tree) Shape {
	n := (*node)(tree)
	sh := Shape{root: n}
	if n == nil || n.whole || c.root == nil {
		return sh
	}
	c.shape(&sh, c.root, n)
	return sh
}

func (c *Codec) shape(sh *Shape, p *objPlan, n *node) {
	if p.isMap {
		if n.null {
			return
		}
		if p.elem.obj == nil && !noEditLists {
			clear(n.edits)
			n.edits, n.editsLost = n.edits[:0], false
			n.shapeGen++
			sh.edits.set(n, n.shapeGen)
			return
		}
		if sh.maps == nil {
			sh.maps = map[*node][]*node{}
		}
		sh.maps[n] = slices.Clone(n.kids)
		if p.elem.obj != nil {
			for _, k := range n.kids {
				c.shape(sh, p.elem.obj, k)
			}
		}
		return
	}
	for i := range p.fields {
		if f := &p.fields[i]; f.child.obj != nil && n.present[i] && n.kids[i] != nil {
			c.shape(sh, f.child.obj, n.kids[i])
		}
	}
}

// noEditLists turns the edit lists off, for the tests: every map then
// gets a copy of its members, the plain path.
var noEditLists = false

// maxEdits bounds a map node's edit list: past it, MergePatch is not
// exact and the caller records the whole document.
const maxEdits = 4096

// kidEdit is a member a map node replaced in place since its shape: its
// position and the node it replaced.
type kidEdit struct {
	i   int
	old *node
}

// recordEdit notes, before a map node's member i is replaced in place,
// the member it had, if a shape follows the node.
func (n *node) recordEdit(i int) {
	if n.shapeGen == 0 || n.editsLost {
		return
	}
	if len(n.edits) == maxEdits {
		clear(n.edits)
		n.edits, n.editsLost = n.edits[:0], true
		return
	}
	n.edits = append(n.edits, kidEdit{i, n.kids[i]})
}

// editsSince reports whether n is a map of leaves the shape follows
// (tracked), and whether its edit list holds every member replaced since
// the shape was taken (whole).
func (pt *patcher) editsSince(n *node) (tracked, whole bool) {
	g, ok := pt.edits.get(n)
	if !ok {
		return false, false
	}
	return true, n.shapeGen == g && !n.editsLost
}

// MergePatch appends to buf the merge patch (RFC 7386, compact JSON) that
// turns the encoding of the value as it was when before was taken into its
// encoding as after describes it, and reports whether they differ. exact
// is false when no merge patch says it (a member set to null, a duplicate
// key, no tree before): the caller must then record the whole value.
func (c *Codec) MergePatch(buf []byte, before Shape, after *Tree) (patch []byte, changed, exact bool) {
	o, n := before.root, (*node)(after)
	if o == nil || n == nil {
		return buf, true, false
	}
	pt := &patcher{c: c, maps: before.maps, edits: &before.edits, exact: true}
	root := childPlan{t: c.t, obj: c.root, addr: true}
	var out []byte
	if o.whole || n.whole || c.root == nil || o.null || n.null {
		out, changed = pt.raw(buf, pt.renderRoot(o, true), pt.renderRoot(n, false), true)
	} else {
		out, changed = pt.node(buf, root, o, n, true)
	}
	if !changed {
		return buf, false, true
	}
	return out, true, pt.exact
}

type patcher struct {
	c     *Codec
	maps  map[*node][]*node
	edits *shapeGens
	exact bool
}

// oldKids is the members a map node had when the shape was taken.
func (pt *patcher) oldKids(o *node) []*node {
	if k, ok := pt.maps[o]; ok {
		return k
	}
	tracked, whole := pt.editsSince(o)
	if !tracked || len(o.edits) == 0 {
		return o.kids
	}
	if !whole {
		pt.exact = false // what it had is lost: record the whole document
		return o.kids
	}
	kids := slices.Clone(o.kids)
	for j := len(o.edits) - 1; j >= 0; j-- {
		kids[o.edits[j].i] = o.edits[j].old
	}
	return kids
}

// node appends the patch from o to n (nodes of plan p), or nothing and
// false when they encode alike.
func (pt *patcher) node(b []byte, p childPlan, o, n *node, top bool) ([]byte, bool) {
	if p.obj == nil || o.null || n.null || o.whole || n.whole {
		if o == n {
			return b, false // leaves are replaced, never changed
		}
		return pt.raw(b, pt.render(nil, p, o, true), pt.render(nil, p, n, false), top)
	}
	if !p.obj.isMap {
		if o == n {
			return b, false // structs are replaced, never changed
		}
		return pt.structs(b, p.obj, o, n)
	}
	return pt.mapNodes(b, p.obj, o, n)
}

func (pt *patcher) structs(b []byte, p *objPlan, o, n *node) ([]byte, bool) {
	mark := len(b)
	b = append(b, '{')
	any := false
	for i := range p.fields {
		f := &p.fields[i]
		op, np := o.present[i], n.present[i]
		if !op && !np {
			continue
		}
		m := len(b)
		if any {
			b = append(b, ',')
		}
		b = append(append(b, f.key...), ':')
		changed := true
		switch {
		case op && np:
			b, changed = pt.node(b, f.child, o.kids[i], n.kids[i], false)
		case op:
			// Gone from the encoding: the patch deletes it, and the
			// applier sets the zero value, which must be omitted too.
			b = append(b, "null"...)
			if !f.omitted(reflect.Zero(f.child.t)) {
				pt.exact = false
			}
		default:
			b = pt.value(b, pt.render(nil, f.child, n.kids[i], false), false)
		}
		if !changed {
			b = b[:m]
			continue
		}
		any = true
	}
	if !any {
		return b[:mark], false
	}
	return append(b, '}'), true
}

func (pt *patcher) mapNodes(b []byte, p *objPlan, o, n *node) ([]byte, bool) {
	if o == n {
		if tracked, whole := pt.editsSince(n); tracked {
			if !whole {
				// What changed is lost: say so, and record the whole.
				pt.exact = false
				return append(b, "null"...), true
			}
			return pt.editedMembers(b, p, n)
		}
	}
	ok := pt.oldKids(o)
	mark := len(b)
	b = append(b, '{')
	any := false
	member := func(key []byte, f func([]byte) ([]byte, bool)) {
		m := len(b)
		if any {
			b = append(b, ',')
		}
		b = append(append(b, key...), ':')
		var changed bool
		if b, changed = f(b); !changed {
			b = b[:m]
			return
		}
		any = true
	}
	if o == n {
		// Changed in place: same keys, some members replaced.
		if len(ok) != len(n.kids) {
			return pt.raw(b[:mark], pt.renderKids(nil, p, o, ok, true), pt.renderKids(nil, p, n, n.kids, false), false)
		}
		for i, nk := range n.kids {
			if nk == ok[i] && p.elem.obj == nil {
				continue
			}
			member(n.keyEnc[i], func(b []byte) ([]byte, bool) { return pt.node(b, p.elem, ok[i], nk, false) })
		}
	} else {
		// Keys came or went: walk both sorted key lists.
		i, j := 0, 0
		for i < len(o.keys) || j < len(n.keys) {
			switch {
			case j == len(n.keys) || (i < len(o.keys) && o.keys[i] < n.keys[j]):
				member(o.keyEnc[i], func(b []byte) ([]byte, bool) { return append(b, "null"...), true })
				i++
			case i == len(o.keys) || n.keys[j] < o.keys[i]:
				nk := n.kids[j]
				member(n.keyEnc[j], func(b []byte) ([]byte, bool) { return pt.value(b, pt.render(nil, p.elem, nk, false), false), true })
				j++
			default:
				okid, nk := ok[i], n.kids[j]
				member(n.keyEnc[j], func(b []byte) ([]byte, bool) { return pt.node(b, p.elem, okid, nk, false) })
				i++
				j++
			}
		}
	}
	if !any {
		return b[:mark], false
	}
	return append(b, '}'), true
}

// editedMembers is mapNodes for a map of leaves changed in place since
// its shape: the members its edit list names, each against the member it
// had first, in key order.
func (pt *patcher) editedMembers(b []byte, p *objPlan, n *node) ([]byte, bool) {
	if len(n.edits) == 0 {
		return b, false
	}
	// The edits by member, each member's first (it holds the member as
	// the shape saw it) ahead of its later ones: a stable sort of a copy,
	// on the stack for the few of a usual update.
	var few [8]kidEdit
	es := append(few[:0], n.edits...)
	slices.SortStableFunc(es, func(a, b kidEdit) int { return cmp.Compare(a.i, b.i) })
	mark := len(b)
	b = append(b, '{')
	any := false
	for j, e := range es {
		if j > 0 && es[j-1].i == e.i {
			continue // a later edit of a member already patched
		}
		i := e.i
		m := len(b)
		if any {
			b = append(b, ',')
		}
		b = append(append(b, n.keyEnc[i]...), ':')
		var changed bool
		if b, changed = pt.node(b, p.elem, e.old, n.kids[i], false); !changed {
			b = b[:m]
			continue
		}
		any = true
	}
	if !any {
		return b[:mark], false
	}
	return append(b, '}'), true
}

// value appends v, a whole new value, as the patch of a member, noting
// when the patch cannot say it.
func (pt *patcher) value(b, v []byte, top bool) []byte {
	if !top && string(v) == "null" || hasNullMember(v) {
		pt.exact = false
	}
	return append(b, v...)
}

// render appends the compact encoding of the node n of plan p: as it was
// when the shape was taken if old is set (maps changed in place since
// are written with the members they had), as it is otherwise.
func (pt *patcher) render(b []byte, p childPlan, n *node, old bool) []byte {
	switch {
	case n.whole:
		return append(b, n.enc...)
	case p.obj == nil:
		if pt.c.indent == "" {
			return append(b, n.enc...)
		}
		return appendCompact(b, n.enc)
	case n.null:
		return append(b, "null"...)
	case p.obj.isMap:
		kids := n.kids
		if old {
			kids = pt.oldKids(n)
		}
		return pt.renderKids(b, p.obj, n, kids, old)
	}
	b = append(b, '{')
	first := true
	for i := range p.obj.fields {
		if !n.present[i] {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		f := &p.obj.fields[i]
		b = append(append(b, f.key...), ':')
		b = pt.render(b, f.child, n.kids[i], old)
	}
	return append(b, '}')
}

func (pt *patcher) renderKids(b []byte, p *objPlan, n *node, kids []*node, old bool) []byte {
	b = append(b, '{')
	for i, k := range kids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(b, n.keyEnc[i]...), ':')
		b = pt.render(b, p.elem, k, old)
	}
	return append(b, '}')
}

// renderRoot is the compact encoding of the whole value as the document
// holds it (a nil map at the root is written {}).
func (pt *patcher) renderRoot(n *node, old bool) []byte {
	b := pt.render(nil, childPlan{t: pt.c.t, obj: pt.c.root, addr: true}, n, old)
	if pt.c.t.Kind() == reflect.Map && string(b) == "null" {
		return []byte("{}")
	}
	return b
}

// raw appends the merge patch from one compact encoding to another,
// member by member where both are objects.
func (pt *patcher) raw(b, old, new []byte, top bool) ([]byte, bool) {
	if bytes.Equal(old, new) {
		return b, false
	}
	if !isObject(old) || !isObject(new) {
		return pt.value(b, new, top), true
	}
	// old and new are the patcher's own renderings, or the tree's
	// encodings, which nobody changes: their keys need no copies.
	var omBuf, nmBuf [smallObject]RawMember
	om, nm := objectMembers(old, omBuf[:0], true), objectMembers(new, nmBuf[:0], true)
	// A record's few members are looked up by a scan: the maps cost more
	// than the patch of a changed leaf otherwise does.
	small := len(om) <= smallObject && len(nm) <= smallObject
	var idx map[string]int
	var seen map[string]bool
	if !small {
		idx = make(map[string]int, len(om))
		seen = make(map[string]bool, len(nm))
	}
	for i, m := range om {
		if small {
			if memberAt(om[:i], m.Key) >= 0 {
				pt.exact = false // which one counts is the decoder's choice
			}
			continue
		}
		if _, dup := idx[m.Key]; dup {
			pt.exact = false
		}
		idx[m.Key] = i
	}
	mark := len(b)
	b = append(b, '{')
	any := false
	for j, m := range nm {
		var i int
		if small {
			if memberAt(nm[:j], m.Key) >= 0 {
				pt.exact = false
			}
			i = memberAt(om, m.Key)
		} else {
			if seen[m.Key] {
				pt.exact = false
			}
			seen[m.Key] = true
			var ok bool
			if i, ok = idx[m.Key]; !ok {
				i = -1
			}
		}
		at := len(b)
		if any {
			b = append(b, ',')
		}
		b = append(append(b, m.Raw...), ':')
		changed := true
		if i >= 0 {
			b, changed = pt.raw(b, om[i].Val, m.Val, false)
		} else {
			b = pt.value(b, m.Val, false)
		}
		if !changed {
			b = b[:at]
			continue
		}
		any = true
	}
	for i, m := range om {
		if small {
			if memberAt(nm, m.Key) >= 0 || memberAt(om[:i], m.Key) >= 0 {
				continue
			}
		} else {
			if seen[m.Key] {
				continue
			}
			seen[m.Key] = true
		}
		if any {
			b = append(b, ',')
		}
		b = append(append(append(b, m.Raw...), ':'), "null"...)
		any = true
	}
	if !any {
		// Alike as JSON values but not as bytes (spacing, escapes):
		// nothing to patch.
		return b[:mark], false
	}
	return append(b, '}'), true
}

// smallObject is the number of members up to which raw scans.
const smallObject = 16

// memberAt returns the index of the last member of ms named key, or -1.
func memberAt(ms []RawMember, key string) int {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Key == key {
			return i
		}
	}
	return -1
}

// ApplyMergePatch applies the merge patch to v, an addressable value of
// the Codec's type: member by member where the plan splits v into
// members, and at a leaf by applying the patch to the leaf's encoding and
// decoding the result into a fresh value (as encoding/json decodes a
// document). Its cost follows the members the patch names. On error v may
// be partly patched: the caller loads it again.
func (c *Codec) ApplyMergePatch(v reflect.Value, patch []byte) error {
	if !json.Valid(patch) {
		return fmt.Errorf("the merge patch is not valid JSON")
	}
	return c.apply(childPlan{t: c.t, obj: c.root, addr: true}, v, patch, true)
}

func (c *Codec) apply(p childPlan, v reflect.Value, patch []byte, present bool) error {
	if !isObject(patch) {
		return decodeInto(v, patch)
	}
	if p.obj == nil {
		var cur []byte
		if present {
			var err error
			x := v.Interface()
			if p.addr && v.CanAddr() {
				x = v.Addr().Interface()
			}
			if cur, err = json.Marshal(x); err != nil {
				return err
			}
		}
		return decodeInto(v, MergeRaw(cur, patch))
	}
	members := ObjectMembers(patch)
	if p.obj.isMap {
		if v.IsNil() {
			v.Set(reflect.MakeMap(p.t))
		}
		for _, m := range members {
			k := reflect.ValueOf(m.Key).Convert(p.t.Key())
			if string(m.Val) == "null" {
				v.SetMapIndex(k, reflect.Value{})
				continue
			}
			ev := reflect.New(p.t.Elem()).Elem()
			cur := v.MapIndex(k)
			if cur.IsValid() {
				ev.Set(cur)
				if p.obj.elem.obj != nil && !cur.IsNil() {
					// A map inside a map: patch a copy, never a map the
					// value may share with another member.
					cp := reflect.MakeMapWithSize(p.t.Elem(), cur.Len())
					for it := cur.MapRange(); it.Next(); {
						cp.SetMapIndex(it.Key(), it.Value())
					}
					ev.Set(cp)
				}
			}
			if err := c.apply(p.obj.elem, ev, m.Val, cur.IsValid()); err != nil {
				return fmt.Errorf("at %s: %w", m.Raw, err)
			}
			v.SetMapIndex(k, ev)
		}
		return nil
	}
	for _, m := range members {
		i := slices.IndexFunc(p.obj.fields, func(f fieldPlan) bool { return f.name == m.Key })
		if i < 0 {
			return fmt.Errorf("the patch names %s, which %v does not have", m.Raw, p.t)
		}
		f := &p.obj.fields[i]
		fv := v.Field(f.index)
		if string(m.Val) == "null" {
			fv.SetZero()
			continue
		}
		if err := c.apply(f.child, fv, m.Val, !f.omitted(fv)); err != nil {
			return fmt.Errorf("at %s: %w", m.Raw, err)
		}
	}
	return nil
}

// decodeInto sets v to the value data decodes to, decoded into a fresh
// value as encoding/json decodes a member of a document.
func decodeInto(v reflect.Value, data []byte) error {
	nv := reflect.New(v.Type())
	if err := json.Unmarshal(data, nv.Interface()); err != nil {
		return err
	}
	v.Set(nv.Elem())
	return nil
}

// MergeRaw applies the merge patch to the JSON value target (nil when
// there is none) as RFC 7386 says, on encodings: members keep their order,
// new ones follow in the patch's order.
func MergeRaw(target, patch []byte) []byte {
	if !isObject(patch) {
		return patch
	}
	var tm []RawMember
	if isObject(target) {
		tm = ObjectMembers(target)
	}
	pm := ObjectMembers(patch)
	last := make(map[string]int, len(pm))
	for i, m := range pm {
		last[m.Key] = i
	}
	out := []byte{'{'}
	emit := func(raw, val []byte) {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(append(append(out, raw...), ':'), val...)
	}
	done := make(map[string]bool, len(pm))
	for _, m := range tm {
		i, ok := last[m.Key]
		if !ok {
			emit(m.Raw, m.Val)
			continue
		}
		if done[m.Key] {
			continue
		}
		done[m.Key] = true
		if pv := pm[i].Val; string(pv) != "null" {
			emit(m.Raw, MergeRaw(m.Val, pv))
		}
	}
	for i, m := range pm {
		if done[m.Key] || last[m.Key] != i || string(m.Val) == "null" {
			continue
		}
		emit(m.Raw, MergeRaw(nil, m.Val))
	}
	return append(out, '}')
}

// hasNullMember reports whether the JSON value v holds an object member
// whose value is null (outside arrays, which a merge patch replaces whole):
// as part of a patch, such a member would delete rather than set.
func hasNullMember(v []byte) bool {
	if !isObject(v) {
		return false
	}
	for _, m := range ObjectMembers(v) {
		if string(m.Val) == "null" || hasNullMember(m.Val) {
			return true
		}
	}
	return false
}
