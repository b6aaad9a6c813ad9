package jsonenc

import (
	"errors"
	"reflect"
	"strings"
)

// The undo of a failed update. An update function may change anything
// reachable from the document, and what it changed must be put back
// exactly, unexported fields included. Two ways do that:
//
//   - A deep copy of the whole value, taken before the function runs
//     (clone.go). It is exact for every type, and costs a walk and an
//     allocation of the whole value on every update, failed or not.
//   - The tree's own snapshots (restore below). The tree describes the
//     value as it was before the update (a failed sync changes no node),
//     each leaf with a deep copy of what it encoded; the value is rebuilt
//     from them, and only on failure. That is exact only when the tree
//     sees everything the value holds: types without hidden state.
//
// A type has hidden state when two values of it can differ while their
// encodings, and what the tree compares, do not: unexported or ignored
// ("-") fields, embedded structs (flattened, with dominance rules), two
// fields under one JSON name (both dropped), interfaces (the dynamic type
// is not written), custom marshalers and IsZero methods (which may read
// anything), and omitted members whose value the omission does not fix:
// omitempty on a map or slice (nil or empty), omitempty or omitzero on
// floats (-0 is omitted as 0 is). time.Time is the one marshaler taken as
// it is: its encoding and its IsZero read what the tree compares (the wall
// clock, the monotonic reading, the Location pointer).

// SaveForUndo returns the undo of an update about to change v, whose
// encoding tree holds (nil when there is none yet). The undo puts v back
// exactly as it is now, unexported fields included; an error means it
// could not, and v is not to be trusted.
//
// For a type without hidden state kept as a tree, saving costs nothing
// and the undo rebuilds v from the tree; otherwise saving deep-copies v.
func (c *Codec) SaveForUndo(tree *Tree, v reflect.Value) func() error {
	n := (*node)(tree)
	if c.exact && n != nil && !n.whole {
		return func() error { return c.restore(childPlan{t: c.t, obj: c.root, addr: true}, n, v) }
	}
	before := cloneValue(v) // the whole value, unexported fields too: see clone.go
	return func() error {
		v.Set(before)
		return nil
	}
}

var errNoSnapshot = errors.New("a member of the document has no copy to restore from")

// restore sets v back to what the node n describes. It never writes into
// memory v shares with anything: a changed leaf gets a fresh copy, and a
// map is built anew, since an update may have made two members share one
// map, which restoring in place would change twice.
func (c *Codec) restore(p childPlan, n *node, v reflect.Value) error {
	switch {
	case p.obj == nil:
		if !n.snap.IsValid() {
			return errNoSnapshot
		}
		if p.ops.equal(v, n.snap) {
			return nil
		}
		fresh := reflect.New(p.t).Elem()
		if !p.ops.copyInto(fresh, n.snap) {
			return errNoSnapshot
		}
		v.Set(fresh)
		return nil
	case p.obj.isMap:
		if n.null {
			v.SetZero()
			return nil
		}
		m := reflect.MakeMapWithSize(p.obj.t, len(n.keys))
		kv := reflect.New(p.obj.t.Key()).Elem()
		for i, k := range n.keys {
			kv.SetString(k)
			h := reflect.New(p.obj.t.Elem()).Elem()
			if cur := v.MapIndex(kv); cur.IsValid() && p.obj.elem.obj == nil {
				h.Set(cur) // kept if equal: its memory is not written
			}
			if err := c.restore(p.obj.elem, n.kids[i], h); err != nil {
				return err
			}
			m.SetMapIndex(kv, h)
		}
		v.Set(m)
		return nil
	}
	for i := range p.obj.fields {
		f := &p.obj.fields[i]
		fv := v.Field(f.index)
		if !n.present[i] {
			// Omitted: for a type without hidden state, only the zero
			// value is (see exactOmit).
			fv.SetZero()
			continue
		}
		if err := c.restore(f.child, n.kids[i], fv); err != nil {
			return err
		}
	}
	return nil
}

// exactType reports whether t has no hidden state (see above): a value of
// it is fixed by what the tree compares and snapshots.
func exactType(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == timeType {
		return true
	}
	if seen[t] {
		return true // recursive: decided by the first visit
	}
	seen[t] = true
	if custom(t) || t.Implements(isZeroerType) || reflect.PointerTo(t).Implements(isZeroerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	case reflect.Array, reflect.Slice, reflect.Pointer:
		return exactType(t.Elem(), seen)
	case reflect.Map:
		switch t.Key().Kind() {
		case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		default:
			return false
		}
		return exactType(t.Key(), seen) && exactType(t.Elem(), seen)
	case reflect.Struct:
		names := map[string]bool{}
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() || sf.Anonymous {
				return false
			}
			tag := sf.Tag.Get("json")
			if tag == "-" {
				return false
			}
			name, opts, _ := strings.Cut(tag, ",")
			if !validTag(name) {
				name = sf.Name
			}
			if names[name] {
				return false
			}
			names[name] = true
			if hasOpt(opts, "omitempty") && !exactEmpty(sf.Type) || hasOpt(opts, "omitzero") && !exactZero(sf.Type) {
				return false
			}
			if !exactType(sf.Type, seen) {
				return false
			}
		}
		return true
	}
	return false // interfaces, channels, functions, complex numbers
}

// exactEmpty reports whether omitempty omits only the zero value of t.
func exactEmpty(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Map, reflect.Slice, reflect.Interface:
		return false
	}
	return true // arrays: only those of length 0; structs: never omitted
}

// exactZero reports whether omitzero omits only the zero value of t (for
// a type without an IsZero method, where reflect.Value.IsZero decides).
func exactZero(t reflect.Type) bool {
	if t == timeType {
		return false // IsZero: any Location
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Interface:
		return false
	case reflect.Array:
		return exactZero(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !exactZero(t.Field(i).Type) {
				return false
			}
		}
	}
	return true
}
