package jsonenc

import (
	"reflect"
	"sync"
	"unsafe"
)

// An update function may change anything reachable from the document,
// unexported fields included, and an omitzero IsZero or a marshaler may
// read what it changed. So unless the type has no hidden state (undo.go),
// the undo of a failed update does not rebuild the value from what the
// encoder compared: it puts back a deep copy of the whole value, taken
// before the function ran.

// DeepCopy returns a copy of v that shares no memory with it, unexported
// fields included: what SaveForUndo keeps for types with hidden state, and
// what a test compares a value restored after a failed update against.
func DeepCopy(v reflect.Value) reflect.Value { return cloneValue(v) }

// cloneValue returns a deep copy of v as a new addressable value: every
// field (unexported ones too), every element, every pointee. Pointers,
// maps and slices shared inside v stay shared in the copy, so cycles end.
// Map keys, channels, functions and unsafe pointers are copied as they are.
func cloneValue(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	var cl cloner
	cl.copy(out, v)
	return out
}

type cloneKey struct {
	t   reflect.Type
	p   unsafe.Pointer
	len int
}

type cloner struct {
	seen map[cloneKey]reflect.Value
}

// writable returns v with the read-only mark of an unexported field
// removed, when v is addressable.
func writable(v reflect.Value) reflect.Value {
	if v.CanAddr() && !v.CanInterface() {
		return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	return v
}

var flatTypes sync.Map // reflect.Type -> bool

// flatType reports whether a value of t holds no references to memory
// that may change, so that assigning it copies it whole.
func flatType(t reflect.Type) bool {
	if f, ok := flatTypes.Load(t); ok {
		return f.(bool)
	}
	f := flat(t, map[reflect.Type]bool{})
	flatTypes.Store(t, f)
	return f
}

func (cl *cloner) remember(k cloneKey, v reflect.Value) {
	if cl.seen == nil {
		cl.seen = map[cloneKey]reflect.Value{}
	}
	cl.seen[k] = v
}

// copy sets dst (settable, or addressable) to a deep copy of src.
func (cl *cloner) copy(dst, src reflect.Value) {
	dst, src = writable(dst), writable(src)
	t := src.Type()
	if flatType(t) {
		dst.Set(src)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		k := cloneKey{t: t, p: src.UnsafePointer()}
		if c, ok := cl.seen[k]; ok {
			dst.Set(c)
			return
		}
		p := reflect.New(t.Elem())
		cl.remember(k, p)
		cl.copy(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Interface:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		e := src.Elem()
		c := reflect.New(e.Type()).Elem()
		if !flatType(e.Type()) {
			// Make it addressable, so that its fields can be read whole.
			tmp := reflect.New(e.Type()).Elem()
			tmp.Set(e)
			e = tmp
		}
		cl.copy(c, e)
		dst.Set(c)
	case reflect.Slice:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		k := cloneKey{t: t, p: src.UnsafePointer(), len: src.Len()}
		if c, ok := cl.seen[k]; ok {
			dst.Set(c)
			return
		}
		s := reflect.MakeSlice(t, src.Len(), src.Len())
		cl.remember(k, s)
		if flatType(t.Elem()) {
			reflect.Copy(s, src)
		} else {
			for i := range src.Len() {
				cl.copy(s.Index(i), src.Index(i))
			}
		}
		dst.Set(s)
	case reflect.Array:
		for i := range src.Len() {
			cl.copy(dst.Index(i), src.Index(i))
		}
	case reflect.Map:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		k := cloneKey{t: t, p: src.UnsafePointer()}
		if c, ok := cl.seen[k]; ok {
			dst.Set(c)
			return
		}
		m := reflect.MakeMapWithSize(t, src.Len())
		cl.remember(k, m)
		key := reflect.New(t.Key()).Elem()
		val := reflect.New(t.Elem()).Elem()
		flatElem := flatType(t.Elem())
		var tmp reflect.Value
		if !flatElem {
			tmp = reflect.New(t.Elem()).Elem()
		}
		it := src.MapRange()
		for it.Next() {
			key.SetIterKey(it)
			if flatElem {
				val.SetIterValue(it)
			} else {
				tmp.SetIterValue(it)
				val.SetZero()
				cl.copy(val, tmp)
			}
			m.SetMapIndex(key, val)
		}
		dst.Set(m)
	case reflect.Struct:
		dst.Set(src) // every field, then the ones that hold references anew
		for i := range t.NumField() {
			if !flatType(t.Field(i).Type) {
				cl.copy(dst.Field(i), src.Field(i))
			}
		}
	default: // chan, func, unsafe.Pointer: no deeper copy exists
		dst.Set(src)
	}
}
