package jsonenc

import (
	"reflect"
	"unsafe"
)

// memEq compiles a comparison that reads two values of t in place, for
// types made only of booleans, numbers, strings and time.Time, in arrays
// and structs: no reflection per field, which makes comparing a large map
// of small records about twice as fast. It returns nil for other types.
// Padding is never compared: only the fields, each by its own width, and
// floats bitwise (-0 and 0 encode differently).
func memEq(t reflect.Type) func(a, b unsafe.Pointer) bool {
	var segs []memSeg
	if !memSegs(t, 0, &segs) {
		return nil
	}
	// Equal memory, word for word, is equal values (the same strings, the
	// same bits): in a walk of a large map nearly every member compares
	// so, in a third of the time the fields take one by one. Padding and
	// unexported fields may differ where the values do not: then the
	// fields decide.
	words, size := t.Size()/8, t.Size()
	return func(a, b unsafe.Pointer) bool {
		same := true
		for i := range words {
			if *(*uint64)(unsafe.Add(a, i*8)) != *(*uint64)(unsafe.Add(b, i*8)) {
				same = false
				break
			}
		}
		for i := words * 8; same && i < size; i++ {
			same = *(*uint8)(unsafe.Add(a, i)) == *(*uint8)(unsafe.Add(b, i))
		}
		if same {
			return true
		}
		for _, s := range segs {
			pa, pb := unsafe.Add(a, s.off), unsafe.Add(b, s.off)
			switch s.kind {
			case segString:
				// Usually the very same string: check that before
				// calling on to compare bytes.
				x, y := *(*string)(pa), *(*string)(pb)
				if len(x) != len(y) || unsafe.StringData(x) != unsafe.StringData(y) && x != y {
					return false
				}
			case seg1:
				if *(*uint8)(pa) != *(*uint8)(pb) {
					return false
				}
			case seg2:
				if *(*uint16)(pa) != *(*uint16)(pb) {
					return false
				}
			case seg4:
				if *(*uint32)(pa) != *(*uint32)(pb) {
					return false
				}
			case seg8:
				if *(*uint64)(pa) != *(*uint64)(pb) {
					return false
				}
			case segPtr:
				if *(*unsafe.Pointer)(pa) != *(*unsafe.Pointer)(pb) {
					return false
				}
			}
		}
		return true
	}
}

type memSeg struct {
	off  uintptr
	kind uint8
}

const (
	seg1 = iota
	seg2
	seg4
	seg8
	segString
	segPtr
)

func memSegs(t reflect.Type, off uintptr, segs *[]memSeg) bool {
	if t == timeType {
		// wall, ext and the Location pointer, as timeEqual compares them.
		if t.NumField() != 3 || t.Field(2).Type.Kind() != reflect.Pointer {
			return false
		}
		*segs = append(*segs, memSeg{off + t.Field(0).Offset, seg8}, memSeg{off + t.Field(1).Offset, seg8},
			memSeg{off + t.Field(2).Offset, segPtr})
		return true
	}
	if custom(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int8, reflect.Uint8:
		*segs = append(*segs, memSeg{off, seg1})
	case reflect.Int16, reflect.Uint16:
		*segs = append(*segs, memSeg{off, seg2})
	case reflect.Int32, reflect.Uint32, reflect.Float32:
		*segs = append(*segs, memSeg{off, seg4})
	case reflect.Int64, reflect.Uint64, reflect.Float64:
		*segs = append(*segs, memSeg{off, seg8})
	case reflect.Int, reflect.Uint, reflect.Uintptr:
		switch t.Size() {
		case 4:
			*segs = append(*segs, memSeg{off, seg4})
		case 8:
			*segs = append(*segs, memSeg{off, seg8})
		default:
			return false
		}
	case reflect.String:
		*segs = append(*segs, memSeg{off, segString})
	case reflect.Array:
		for i := range t.Len() {
			if !memSegs(t.Elem(), off+uintptr(i)*t.Elem().Size(), segs) {
				return false
			}
		}
	case reflect.Struct:
		if !fieldsDecide(t) {
			return false
		}
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() && !sf.Anonymous {
				continue // encoding/json never looks at it
			}
			if !memSegs(sf.Type, off+sf.Offset, segs) {
				return false
			}
		}
	default:
		return false
	}
	return len(*segs) <= 64
}
