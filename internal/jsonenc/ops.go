package jsonenc

import (
	"bytes"
	"math"
	"reflect"
	"sync"
	"unsafe"
)

// Leaves are compared with, and restored from, a deep copy taken when they
// were last encoded. equal reports whether two values of one type are sure
// to encode to the same JSON (false when unsure: the leaf is re-encoded and
// compared as bytes); copyInto deep-copies src into the settable dst and
// reports false when the type cannot be copied faithfully.

type eqFunc func(a, b reflect.Value) bool
type copyFunc func(dst, src reflect.Value) bool

type leafOps struct {
	equal    eqFunc
	copyInto copyFunc
	// memEqual compares two addressable values in place; nil when the
	// type is not made of plain fields (see memEq).
	memEqual func(a, b unsafe.Pointer) bool
}

var opsCache struct {
	sync.Mutex
	m    map[reflect.Type]*leafOps // under construction or done; guarded
	done sync.Map                  // reflect.Type -> *leafOps, complete only
}

// opsFor returns the compiled operations for t.
func opsFor(t reflect.Type) *leafOps {
	if o, ok := opsCache.done.Load(t); ok {
		return o.(*leafOps)
	}
	opsCache.Lock()
	defer opsCache.Unlock()
	if opsCache.m == nil {
		opsCache.m = map[reflect.Type]*leafOps{}
	}
	o := compileOps(t)
	opsCache.done.Store(t, o)
	return o
}

func compileOps(t reflect.Type) *leafOps {
	if o, ok := opsCache.m[t]; ok {
		return o
	}
	o := &leafOps{}
	opsCache.m[t] = o // recursive types reach it through the indirections below
	o.equal, o.copyInto = compileEq(t), compileCopy(t)
	if t.Kind() == reflect.Struct || t.Kind() == reflect.Array {
		o.memEqual = memEq(t)
	}
	return o
}

func never(a, b reflect.Value) bool { return false }

func cannotCopy(dst, src reflect.Value) bool { return false }

// flat reports whether a value of t holds no references to mutable memory,
// so that assignment copies it. Strings are immutable, and a time.Time's
// Location is never changed once made.
func flat(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == timeType {
		return true
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array:
		return flat(t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			return false
		}
		seen[t] = true
		for i := range t.NumField() {
			if !flat(t.Field(i).Type, seen) {
				return false
			}
		}
		return true
	}
	return false
}

// jsonFields are the fields encoding/json may look at: exported ones and
// embedded ones (whose exported fields are promoted).
func jsonFields(t reflect.Type) []int {
	var idx []int
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.IsExported() || sf.Anonymous {
			idx = append(idx, i)
		}
	}
	return idx
}

func compileEq(t reflect.Type) eqFunc {
	if t.Kind() == reflect.Struct || t.Kind() == reflect.Array {
		if fast := memEq(t); fast != nil {
			slow := compileSlowEq(t)
			return func(a, b reflect.Value) bool {
				if a.CanAddr() && b.CanAddr() {
					return fast(unsafe.Pointer(a.UnsafeAddr()), unsafe.Pointer(b.UnsafeAddr()))
				}
				return slow(a, b)
			}
		}
	}
	return compileSlowEq(t)
}

func compileSlowEq(t reflect.Type) eqFunc {
	switch {
	case t == timeType:
		return timeEqual()
	case t == rawMessageType:
		return func(a, b reflect.Value) bool { return bytes.Equal(a.Bytes(), b.Bytes()) }
	case custom(t):
		return never // its own methods decide: re-encode and compare bytes
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(a, b reflect.Value) bool { return a.Bool() == b.Bool() }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(a, b reflect.Value) bool { return a.Int() == b.Int() }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(a, b reflect.Value) bool { return a.Uint() == b.Uint() }
	case reflect.Float32, reflect.Float64:
		// Bitwise: -0 and 0 encode differently.
		return func(a, b reflect.Value) bool { return math.Float64bits(a.Float()) == math.Float64bits(b.Float()) }
	case reflect.String:
		return func(a, b reflect.Value) bool { return a.String() == b.String() }
	case reflect.Array:
		elem := compileOps(t.Elem())
		return func(a, b reflect.Value) bool {
			for i := range a.Len() {
				if !elem.equal(a.Index(i), b.Index(i)) {
					return false
				}
			}
			return true
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !custom(t.Elem()) {
			return func(a, b reflect.Value) bool {
				return a.IsNil() == b.IsNil() && bytes.Equal(a.Bytes(), b.Bytes())
			}
		}
		elem := compileOps(t.Elem())
		return func(a, b reflect.Value) bool {
			if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
				return false
			}
			for i := range a.Len() {
				if !elem.equal(a.Index(i), b.Index(i)) {
					return false
				}
			}
			return true
		}
	case reflect.Map:
		if custom(t.Key()) {
			return never // a key's MarshalText decides its name
		}
		elem := compileOps(t.Elem())
		return func(a, b reflect.Value) bool {
			if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
				return false
			}
			it := a.MapRange()
			for it.Next() {
				bv := b.MapIndex(it.Key())
				if !bv.IsValid() || !elem.equal(it.Value(), bv) {
					return false
				}
			}
			return true
		}
	case reflect.Pointer:
		elem := compileOps(t.Elem())
		return func(a, b reflect.Value) bool {
			if a.IsNil() || b.IsNil() {
				return a.IsNil() == b.IsNil()
			}
			return elem.equal(a.Elem(), b.Elem())
		}
	case reflect.Interface:
		return func(a, b reflect.Value) bool {
			if a.IsNil() || b.IsNil() {
				return a.IsNil() == b.IsNil()
			}
			ae, be := a.Elem(), b.Elem()
			if ae.Type() != be.Type() {
				return false
			}
			return opsFor(ae.Type()).equal(ae, be)
		}
	case reflect.Struct:
		if !fieldsDecide(t) {
			return never // an omitzero test reads what is not compared
		}
		idx := jsonFields(t)
		fields := make([]*leafOps, len(idx))
		for k, i := range idx {
			fields[k] = compileOps(t.Field(i).Type)
		}
		return func(a, b reflect.Value) bool {
			for k, i := range idx {
				if !fields[k].equal(a.Field(i), b.Field(i)) {
					return false
				}
			}
			return true
		}
	}
	return never // complex, chan, func: encoding/json refuses them anyway
}

// timeEqual compares time.Time by its representation: equal wall clock,
// monotonic-free instant and Location pointer encode identically. It reads
// the fields by position, checked once, so that unexported paths work too.
func timeEqual() eqFunc {
	ok := timeType.NumField() == 3 &&
		timeType.Field(0).Type.Kind() == reflect.Uint64 &&
		timeType.Field(1).Type.Kind() == reflect.Int64 &&
		timeType.Field(2).Type.Kind() == reflect.Pointer
	if !ok {
		return never
	}
	return func(a, b reflect.Value) bool {
		return a.Field(0).Uint() == b.Field(0).Uint() && a.Field(1).Int() == b.Field(1).Int() &&
			a.Field(2).Pointer() == b.Field(2).Pointer()
	}
}

func compileCopy(t reflect.Type) copyFunc {
	if flat(t, map[reflect.Type]bool{}) {
		return func(dst, src reflect.Value) bool {
			if !src.CanInterface() {
				return false // reached through an unexported field: Set would panic
			}
			dst.Set(src)
			return true
		}
	}
	switch t.Kind() {
	case reflect.Array:
		elem := compileOps(t.Elem())
		return func(dst, src reflect.Value) bool {
			for i := range src.Len() {
				if !elem.copyInto(dst.Index(i), src.Index(i)) {
					return false
				}
			}
			return true
		}
	case reflect.Slice:
		elem := compileOps(t.Elem())
		return func(dst, src reflect.Value) bool {
			if src.IsNil() {
				dst.SetZero()
				return true
			}
			s := reflect.MakeSlice(t, src.Len(), src.Len())
			for i := range src.Len() {
				if !elem.copyInto(s.Index(i), src.Index(i)) {
					return false
				}
			}
			dst.Set(s)
			return true
		}
	case reflect.Map:
		if !flat(t.Key(), map[reflect.Type]bool{}) {
			return cannotCopy
		}
		elem := compileOps(t.Elem())
		return func(dst, src reflect.Value) bool {
			if src.IsNil() {
				dst.SetZero()
				return true
			}
			m := reflect.MakeMapWithSize(t, src.Len())
			v := reflect.New(t.Elem()).Elem()
			it := src.MapRange()
			for it.Next() {
				v.SetZero()
				if !elem.copyInto(v, it.Value()) {
					return false
				}
				m.SetMapIndex(it.Key(), v)
			}
			dst.Set(m)
			return true
		}
	case reflect.Pointer:
		elem := compileOps(t.Elem())
		return func(dst, src reflect.Value) bool {
			if src.IsNil() {
				dst.SetZero()
				return true
			}
			p := reflect.New(t.Elem())
			if !elem.copyInto(p.Elem(), src.Elem()) {
				return false
			}
			dst.Set(p)
			return true
		}
	case reflect.Interface:
		return func(dst, src reflect.Value) bool {
			if src.IsNil() {
				dst.SetZero()
				return true
			}
			e := src.Elem()
			c := reflect.New(e.Type()).Elem()
			if !opsFor(e.Type()).copyInto(c, e) {
				return false
			}
			dst.Set(c)
			return true
		}
	case reflect.Struct:
		// Assign the whole struct (unexported fields included), then
		// deep-copy the fields that hold references. A reference in a
		// field that cannot be set makes the type uncopyable.
		type deep struct {
			i   int
			ops *leafOps
		}
		var fields []deep
		for i := range t.NumField() {
			sf := t.Field(i)
			if flat(sf.Type, map[reflect.Type]bool{}) {
				continue
			}
			if !sf.IsExported() {
				return cannotCopy
			}
			fields = append(fields, deep{i, compileOps(sf.Type)})
		}
		return func(dst, src reflect.Value) bool {
			if !src.CanInterface() {
				return false
			}
			dst.Set(src)
			for _, f := range fields {
				if !f.ops.copyInto(dst.Field(f.i), src.Field(f.i)) {
					return false
				}
			}
			return true
		}
	}
	return cannotCopy
}
