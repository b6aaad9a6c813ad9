package jsonenctest

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// fzMut changes a value in place as the input says: it walks down to a
// random member (unexported fields too) and sets it, or keeps a reference
// (a map, a slice, a pointer) to set later through, or to store elsewhere
// in the document so that two members share it.
type fzMut struct {
	in  *In
	bag []reflect.Value // references met in this and earlier updates
}

var (
	fzInts   = []int64{0, 1, 2, 7, -1, 13, 127, 1000000, -123456789, 666}
	fzFloats = []float64{0, math.Copysign(0, -1), 1.5, 3, 1e21, 1e-7, -2.25, 0.1, 100}
	fzStrs   = []string{"", "a", "b", "<&>", "ünï\u2028", "\"quoted\"\\", strings.Repeat("x", 300), "k05", "0",
		"\xff", "\xfe"} // invalid UTF-8: both encode as "\ufffd"
	fzRaws  = []string{`{"a" : 1}`, `[1, 2 ,3]`, `"s"`, `null`, `17`, `{}`, `{"z":{"y":[true,false]}}`}
	fzTimes = []time.Time{
		{},
		time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 5, time.UTC),
		time.Date(2024, 2, 29, 13, 0, 0, 0, time.FixedZone("X", 3600)),
		time.Unix(0, 0).UTC(),
	}
)

func (m *fzMut) keep(v reflect.Value) {
	if len(m.bag) < 32 {
		m.bag = append(m.bag, v)
		return
	}
	m.bag[m.in.n(32)] = v
}

// mutate changes the settable (or addressable) v, or something inside it.
func (m *fzMut) mutate(v reflect.Value, depth int) {
	v = writable(v)
	if depth < 8 && m.in.n(6) != 0 && m.descend(v, depth) {
		return
	}
	m.set(v, depth)
}

// descend mutates a member of v and reports whether v had one.
func (m *fzMut) descend(v reflect.Value, depth int) bool {
	t := v.Type()
	if t == timeType || t == rawMessageType {
		return false
	}
	switch t.Kind() {
	case reflect.Struct:
		if t.NumField() == 0 {
			return false
		}
		m.mutate(v.Field(m.in.n(t.NumField())), depth+1)
	case reflect.Pointer:
		if v.IsNil() {
			return false
		}
		m.keep(v)
		m.mutate(v.Elem(), depth+1)
	case reflect.Slice:
		if v.Len() == 0 {
			return false
		}
		m.keep(v)
		m.mutate(v.Index(m.in.n(v.Len())), depth+1)
	case reflect.Array:
		if v.Len() == 0 {
			return false
		}
		m.mutate(v.Index(m.in.n(v.Len())), depth+1)
	case reflect.Map:
		if v.Len() == 0 {
			return false
		}
		m.keep(v)
		k := sortedKeys(v)[m.in.n(v.Len())]
		e := reflect.New(t.Elem()).Elem()
		e.Set(v.MapIndex(k)) // a map or pointer in it is changed in place
		m.mutate(e, depth+1)
		v.SetMapIndex(k, e)
	case reflect.Interface:
		if v.IsNil() {
			return false
		}
		e := v.Elem()
		switch e.Kind() {
		case reflect.Map, reflect.Slice:
			c := reflect.New(e.Type()).Elem()
			c.Set(e) // the same map or backing array
			m.mutate(c, depth+1)
			v.Set(c)
		default:
			return false
		}
	default:
		return false
	}
	return true
}

func sortedKeys(v reflect.Value) []reflect.Value {
	keys := v.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(Fingerprint(a), Fingerprint(b)) })
	return keys
}

// set gives v a new value of its type.
func (m *fzMut) set(v reflect.Value, depth int) {
	t := v.Type()
	if !holdsInterface(t, 0) && m.in.n(5) == 0 {
		// Share a reference met before: two members, or this update and
		// a later one, then change the same memory.
		for i := len(m.bag) - 1; i >= 0; i-- {
			if m.bag[i].Type() == t {
				v.Set(m.bag[i])
				return
			}
		}
	}
	switch {
	case t == timeType:
		v.Set(reflect.ValueOf(fzTimes[m.in.n(len(fzTimes))]))
		return
	case t == rawMessageType:
		if m.in.n(12) == 0 {
			v.SetBytes([]byte(`{"broken":`)) // encoding/json refuses it
			return
		}
		v.SetBytes([]byte(fzRaws[m.in.n(len(fzRaws))]))
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(m.in.n(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x := fzInts[m.in.n(len(fzInts))]
		if v.OverflowInt(x) {
			x %= 100
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(m.in.n(4)) * 100)
	case reflect.Float32, reflect.Float64:
		if m.in.n(40) == 0 {
			v.SetFloat(math.NaN()) // encoding/json refuses it
			return
		}
		v.SetFloat(fzFloats[m.in.n(len(fzFloats))])
	case reflect.String:
		v.SetString(fzStrs[m.in.n(len(fzStrs))])
	case reflect.Slice:
		m.setSlice(v, depth)
	case reflect.Array:
		for i := range v.Len() {
			m.set(writable(v.Index(i)), depth+1)
		}
	case reflect.Map:
		m.setMap(v, depth)
	case reflect.Pointer:
		if m.in.n(3) == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(t.Elem())
		if depth < 6 {
			m.set(p.Elem(), depth+1)
		}
		v.Set(p)
	case reflect.Struct:
		if m.in.n(3) == 0 {
			v.SetZero()
			return
		}
		for i := range t.NumField() {
			if depth < 6 && m.in.n(2) == 0 {
				m.set(writable(v.Field(i)), depth+1)
			}
		}
	case reflect.Interface:
		if v.NumMethod() == 0 {
			if x := m.anyValue(depth); x != nil {
				v.Set(reflect.ValueOf(x))
			} else {
				v.SetZero()
			}
		}
	}
}

func (m *fzMut) setSlice(v reflect.Value, depth int) {
	t := v.Type()
	if t.Elem().Kind() == reflect.Uint8 {
		v.SetBytes([]byte(fzStrs[m.in.n(len(fzStrs))]))
		return
	}
	switch m.in.n(7) {
	case 0:
		v.SetZero()
	case 1:
		v.Set(reflect.MakeSlice(t, 0, m.in.n(4)))
	case 2, 3:
		v.Set(reflect.Append(v, m.newValue(t.Elem(), depth)))
	case 4:
		v.Set(v.Slice(0, v.Len()/2))
	case 5:
		if v.Len() > 0 {
			v.Set(v.Slice(1, v.Len()))
		}
	case 6:
		// Append to a prefix: it writes into the backing array the
		// whole slice (and any alias kept) still shares.
		s := reflect.Append(v.Slice(0, v.Len()/2), m.newValue(t.Elem(), depth))
		m.keep(s)
		if m.in.n(2) == 0 {
			v.Set(s)
		}
	}
}

func (m *fzMut) setMap(v reflect.Value, depth int) {
	t := v.Type()
	switch m.in.n(8) {
	case 0:
		v.SetZero()
		return
	case 1:
		v.Set(reflect.MakeMap(t))
		return
	case 2:
		if v.Len() > 0 {
			v.SetMapIndex(sortedKeys(v)[m.in.n(v.Len())], reflect.Value{})
		}
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	n := []int{1, 2, 40}[m.in.n(3)] // 40: above the size from which a map keeps its encoding
	for i := range n {
		k := m.key(t.Key(), i, n)
		v.SetMapIndex(k, m.newValue(t.Elem(), depth))
	}
}

// key returns the i-th of n new keys of type t.
func (m *fzMut) key(t reflect.Type, i, n int) reflect.Value {
	k := reflect.New(t).Elem()
	switch {
	case t == reflect.TypeFor[fzText]():
		k.Set(reflect.ValueOf(fzText{int8(m.in.n(5)), int8(i % 50)}))
	case t.Kind() == reflect.String:
		if n > 2 {
			k.SetString(fmt.Sprintf("k%02d", i))
		} else {
			k.SetString(fmt.Sprintf("k%02d", m.in.n(48)))
		}
	case t.Kind() == reflect.Int:
		k.SetInt(int64(m.in.n(100) - 50 + i*100))
	}
	return k
}

func (m *fzMut) newValue(t reflect.Type, depth int) reflect.Value {
	v := reflect.New(t).Elem()
	if depth < 6 {
		m.set(v, depth+1)
	}
	return v
}

func (m *fzMut) anyValue(depth int) any {
	switch m.in.n(8) {
	case 0:
		return nil
	case 1:
		return fzFloats[m.in.n(len(fzFloats))]
	case 2:
		return fzStrs[m.in.n(len(fzStrs))]
	case 3:
		return m.in.n(2) == 0
	case 4:
		if depth > 4 {
			return nil
		}
		return []any{m.anyValue(depth + 1), m.anyValue(depth + 1)}
	case 5:
		return json.RawMessage(fzRaws[m.in.n(len(fzRaws))])
	case 6:
		return fzLeaf{N: m.in.n(3), S: "in any"}
	}
	if depth > 4 {
		return map[string]any{}
	}
	mm := map[string]any{}
	n := []int{1, 3, 40}[m.in.n(3)]
	if depth > 0 {
		n = min(n, 3) // one large map at most, not 40 of them
	}
	for i := range n {
		mm[fmt.Sprintf("a%02d", i)] = m.anyValue(depth + 2)
	}
	return mm
}

// holdsInterface reports whether a value of t may hold an interface: one
// from the bag could then end up inside itself, a cycle that no document
// has (encoding/json refuses it) and that only makes the test slow.
func holdsInterface(t reflect.Type, depth int) bool {
	if depth > 8 {
		return true
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return holdsInterface(t.Elem(), depth+1)
	case reflect.Map:
		return holdsInterface(t.Key(), depth+1) || holdsInterface(t.Elem(), depth+1)
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsInterface(t.Field(i).Type, depth+1) {
				return true
			}
		}
	}
	return false
}

var (
	timeType       = reflect.TypeFor[time.Time]()
	rawMessageType = reflect.TypeFor[json.RawMessage]()
)

// writable makes v settable even where it is an unexported field, so that
// the mutations reach hidden state too.
func writable(v reflect.Value) reflect.Value {
	if v.CanAddr() && !v.CanInterface() {
		return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	return v
}
