package jsonenc

import (
	"reflect"

	"github.com/durable-go/durable/internal/mutate"
)

// A one-member update of a large map, as Sync sees it, costs a compare of
// the whole map: Go does not say which slot of its table an assignment
// changed, and the table copy (maptable.go) can only tell by reading all
// of it. SetMember is for the caller that knows: it makes the change
// itself, on a copy of the member, so the change cannot reach anything
// else, and brings the tree up to date with that one member. Nothing is
// taken on trust:
//
//   - the function sees a copy of the member only, of a flat type (no
//     pointers, maps, slices or interfaces: see flat), so writing through
//     it changes nothing the tree describes;
//   - the map's type occurs at this one place in the document's type
//     (mapPositions), so no other member of the document can be the same
//     map under another name;
//   - anything else (a key the map does not hold yet, a nil map, a
//     document encoded whole) is not handled, before the function runs,
//     and the caller takes the plain path.
//
// The table copy of the map (maptable.go) is left as it was, and the
// member is marked stale in it: the copy no longer vouches for its slot,
// which may come to hold the copy's bytes again while the tree describes
// another value (set back by hand), and the next Sync reads each stale
// member from the map (syncStale).

// SetMember runs fn on a copy of the member key of the map held by field
// (a reflect field index) of v, an addressable value of the Codec's
// struct type that tree describes, stores the copy back into the map, and
// brings the tree up to date with it: the member's encoding, and a new
// root node (as Sync makes one for any change under it).
//
// handled is false when SetMember cannot do that exactly (see above); fn
// has not run then, and nothing changed: the caller makes the change as
// any other, and calls Sync. When fn fails, its error is returned and
// nothing changed. When the new member does not encode, the map gets its
// old member back, the tree is unchanged, and the error names the member.
func (c *Codec) SetMember(tree *Tree, v reflect.Value, field int, key reflect.Value, fn func(elem reflect.Value) error) (nt *Tree, changed, handled bool, err error) {
	root := (*node)(tree)
	if root == nil || root.whole || c.root == nil || c.root.isMap || key.Kind() != reflect.String {
		return tree, false, false, nil
	}
	fi := -1
	for i := range c.root.fields {
		if c.root.fields[i].index == field {
			fi = i
			break
		}
	}
	if fi < 0 {
		return tree, false, false, nil
	}
	n, m, ok := c.memberMap(root, v, fi)
	if !ok {
		return tree, false, false, nil
	}
	f := &c.root.fields[fi]
	mp := f.child.obj
	i, ok := n.index.find(key.String())
	cur := m.MapIndex(key)
	if !ok || !cur.IsValid() {
		return tree, false, false, nil
	}
	et := mp.t.Elem()
	old := reflect.New(et).Elem()
	old.Set(cur)
	nv := reflect.New(et).Elem()
	nv.Set(cur)
	if err := fn(nv); err != nil {
		return tree, false, true, err
	}
	m.SetMapIndex(key, nv)
	// Until the tree takes it, a failure (or a panic, though none is
	// known: the member is flat) puts the old member back.
	kept := false
	defer func() {
		if !kept {
			m.SetMapIndex(key, old)
		}
	}()
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	// The depth of a member of a field of the root: see syncStruct.
	nk, kidChanged, err := c.sync(sc, mp.elem, n.kids[i], nv, 2)
	if err != nil {
		return tree, false, true, inMember(f.name, inMember(key.String(), err))
	}
	kept = true
	// The table copy no longer vouches for this member (see mapTable.stale).
	if t := n.table; t != nil && !mutate.JsonencMemberNotStale {
		if len(t.stale) == maxStale {
			n.table = nil
		} else {
			t.stale = append(t.stale, i)
		}
	}
	if !kidChanged {
		return tree, false, true, nil
	}
	n.commitKid(i, nk)
	nr := &node{kids: make([]*node, len(root.kids)), present: make([]bool, len(root.present))}
	copy(nr.kids, root.kids)
	copy(nr.present, root.present)
	return (*Tree)(nr), true, true, nil
}

// memberSafe reports whether the map in the root's field fi can be
// changed alone: its element type is flat, and no other place in the
// document's type can hold the same map.
func (c *Codec) memberSafe(fi int) bool {
	if ok, done := c.members.Load(fi); done {
		return ok.(bool)
	}
	t := c.root.fields[fi].child.t
	ok := flat(t.Elem(), map[reflect.Type]bool{}) && mapPositions(c.t, t, nil) == 1
	c.members.Store(fi, ok)
	return ok
}

// mapPositions counts the places in a value of type t that can hold a map
// of type m, or one convertible to it (the same key and element types),
// up to 2. A recursive type, and an interface, count as 2: either may hold
// any number.
func mapPositions(t, m reflect.Type, stack []reflect.Type) int {
	for _, s := range stack {
		if s == t {
			return 2
		}
	}
	stack = append(stack, t)
	n := 0
	switch t.Kind() {
	case reflect.Interface:
		return 2
	case reflect.Map:
		if t.Key() == m.Key() && t.Elem() == m.Elem() {
			n++
		}
		n += mapPositions(t.Key(), m, stack) + mapPositions(t.Elem(), m, stack)
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan:
		n += mapPositions(t.Elem(), m, stack)
	case reflect.Struct:
		for i := range t.NumField() {
			n += mapPositions(t.Field(i).Type, m, stack)
			if n >= 2 {
				break
			}
		}
	case reflect.Func:
		return 2
	}
	return min(n, 2)
}

// memberMap returns the tree's node and v's value of the field at fi of
// the root's plan (Codec.root.fields), when it is a map of records whose
// members SetMember can change one by one (memberSafe) and the tree
// follows it (the map is present, not null, and has as many members as
// the node); ok is false otherwise.
func (c *Codec) memberMap(root *node, v reflect.Value, fi int) (n *node, m reflect.Value, ok bool) {
	f := &c.root.fields[fi]
	mp := f.child.obj
	if !root.present[fi] || mp == nil || !mp.isMap || mp.elem.obj != nil || !c.memberSafe(fi) {
		return nil, reflect.Value{}, false
	}
	n, m = root.kids[fi], v.Field(f.index)
	if n == nil || n.null || m.IsNil() || len(n.keys) != m.Len() {
		return nil, reflect.Value{}, false
	}
	return n, m, true
}
