package jsonenc

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/durable-go/durable/internal/mutate"
)

// A merge patch of one-member changes (what SetMember's, and most of
// Update's, changes of a map of records become) names the members it
// changes. Applied by ApplyMergePatch, the tree learns of them only from
// the next Sync, which compares the whole map to find them: a writer of
// the store's log mode that catches up with other processes' patches at
// every turn paid that compare for each catch-up, as much as for its own
// change. PatchMembers applies such a patch through SetMember instead,
// member by member, so the tree follows the members the patch names and
// nothing else is read.

// PatchMembers is ApplyMergePatch followed by Sync, for a patch that names
// only members of maps SetMember can change (see SetMember), each of them
// a member the map holds, with a value other than null: {"field":
// {"key": patch, ...}, ...}. It applies each member's patch as
// ApplyMergePatch would, to a copy of the member, stores it back and
// brings the tree up to date with it, and returns the tree as Sync would.
//
// handled is false, with nothing changed, when the patch is anything else
// (it adds or deletes a member, names another field, or is not valid
// JSON): the caller takes ApplyMergePatch and Sync. On error v may be
// partly patched, as with ApplyMergePatch: the caller loads it again.
func (c *Codec) PatchMembers(tree *Tree, v reflect.Value, patch []byte) (nt *Tree, changed, handled bool, err error) {
	root := (*node)(tree)
	if root == nil || root.whole || c.root == nil || c.root.isMap || !isObject(patch) || !json.Valid(patch) {
		return tree, false, false, nil
	}
	var todo []memberPatch
	// Everything is checked before anything changes: a patch that is not
	// handled leaves v and the tree as they were.
	for _, fm := range ObjectMembers(patch) {
		fi := slices.IndexFunc(c.root.fields, func(f fieldPlan) bool { return f.name == fm.Key })
		if fi < 0 || !isObject(fm.Val) {
			return tree, false, false, nil
		}
		n, m, ok := c.memberMap(root, v, fi)
		if !ok {
			return tree, false, false, nil
		}
		mp := c.root.fields[fi].child.obj
		for _, km := range ObjectMembers(fm.Val) {
			if string(km.Val) == "null" && !mutate.JsonencPatchNullMember {
				return tree, false, false, nil // a deletion
			}
			key := reflect.ValueOf(km.Key).Convert(mp.t.Key())
			if _, ok := n.index.find(km.Key); !ok || !m.MapIndex(key).IsValid() {
				return tree, false, false, nil // a new member
			}
			todo = append(todo, memberPatch{fi: fi, key: key, raw: km.Raw, val: km.Val})
		}
	}
	for i, p := range todo {
		f := &c.root.fields[p.fi]
		elem := f.child.obj.elem
		var applyErr error
		t, ch, ok, err := c.SetMember(tree, v, f.index, p.key, func(e reflect.Value) error {
			applyErr = c.apply(elem, e, p.val, true)
			return applyErr
		})
		if !ok {
			// Not expected (the checks above are SetMember's, and a
			// member's change keeps every one of them true): the rest
			// of the patch takes the plain path from here.
			return c.patchRest(tree, v, todo[i:], changed)
		}
		if err != nil {
			if applyErr != nil {
				err = fmt.Errorf("at %s: at %s: %w", f.key, p.raw, applyErr)
			}
			return tree, changed, true, err
		}
		tree, changed = t, changed || ch
	}
	return tree, changed, true, nil
}

// memberPatch is one member's patch, as PatchMembers found it.
type memberPatch struct {
	fi  int // the field's place in Codec.root.fields
	key reflect.Value
	raw []byte // the member's key as the patch writes it, for errors
	val []byte
}

// patchRest applies the member patches left to v as ApplyMergePatch does,
// and then Syncs the tree.
func (c *Codec) patchRest(tree *Tree, v reflect.Value, rest []memberPatch, changed bool) (*Tree, bool, bool, error) {
	for _, p := range rest {
		f := &c.root.fields[p.fi]
		elem := f.child.obj.elem
		m := v.Field(f.index)
		ev := reflect.New(elem.t).Elem()
		cur := m.MapIndex(p.key)
		if cur.IsValid() {
			ev.Set(cur)
		}
		if err := c.apply(elem, ev, p.val, cur.IsValid()); err != nil {
			return tree, changed, true, fmt.Errorf("at %s: at %s: %w", f.key, p.raw, err)
		}
		m.SetMapIndex(p.key, ev)
	}
	nt, ch, err := c.Sync(tree, v)
	if err != nil {
		return tree, changed, true, err
	}
	return nt, changed || ch, true, nil
}
