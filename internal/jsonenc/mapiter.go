package jsonenc

import (
	"reflect"
	"unsafe"
)

// The comparison loop of a large map reads every entry on every update.
// reflect copies each key and value out of the map (SetIterKey,
// SetIterValue) before they can be compared, which costs more than the
// comparison itself. iterPtrs reads, instead, where the iterator points:
// the key and the value in the map's own memory, which memEq then
// compares in place; only a member that differs is copied out.
//
// reflect.MapIter is a reflect.Value followed by the runtime's map
// iterator, whose first two words are the current key's and value's
// addresses: the compiler's range loops rely on that order. It is not an
// API, so it is checked once against reflect's own copies
// (iterPeekWorks), over maps whose slots hold their keys and values
// directly and through pointers; if the check fails, the loop copies as
// before.

type mapIterPeek struct {
	m          reflect.Value
	key, value unsafe.Pointer
}

// iterPtrs returns the addresses of it's current key and value, nil when
// peeking does not work (see iterPeekWorks).
func iterPtrs(it *reflect.MapIter) (key, value unsafe.Pointer) {
	if !iterPeekOK {
		return nil, nil
	}
	p := (*mapIterPeek)(unsafe.Pointer(it))
	return p.key, p.value
}

var iterPeekOK = iterPeekWorks()

type peekBig struct {
	S string
	N [40]int64 // too large for a slot: held through a pointer
}

func iterPeekWorks() bool {
	if unsafe.Sizeof(reflect.MapIter{}) < unsafe.Sizeof(mapIterPeek{}) {
		return false
	}
	small := map[string]int64{}
	big := map[string]peekBig{}
	for i := range 100 {
		k := string(rune('a'+i%26)) + string(rune('A'+i/26))
		small[k] = int64(i)*7919 + 1
		var b peekBig
		b.S = k + "!"
		b.N[39] = int64(i) + 3
		big[k] = b
	}
	return peekAgrees(reflect.ValueOf(small)) && peekAgrees(reflect.ValueOf(big))
}

// peekAgrees reports whether, at every step of a walk of m, the peeked
// key and value are the ones reflect copies out.
func peekAgrees(m reflect.Value) bool {
	kv := reflect.New(m.Type().Key()).Elem()
	vv := reflect.New(m.Type().Elem()).Elem()
	it := m.MapRange()
	n := 0
	for it.Next() {
		kv.SetIterKey(it)
		vv.SetIterValue(it)
		p := (*mapIterPeek)(unsafe.Pointer(it))
		if p.key == nil || p.value == nil {
			return false
		}
		if reflect.NewAt(kv.Type(), p.key).Elem().Interface() != kv.Interface() ||
			reflect.NewAt(vv.Type(), p.value).Elem().Interface() != vv.Interface() {
			return false
		}
		n++
	}
	return n == m.Len()
}
