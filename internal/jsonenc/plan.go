package jsonenc

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode"
)

// A plan says how a Codec encodes one Go type incrementally. Objects (plain
// structs and string-keyed maps, without custom marshalers) are split into
// members, each remembered with its encoding, so that an update re-encodes
// only the members that changed. Everything else is a leaf: compared with
// the copy taken when it was last encoded (or, for types whose encoding the
// codec cannot predict, re-encoded every time and compared as bytes).
//
// Plans follow encoding/json's rules exactly where they apply; a type that
// uses a rule the plan does not model (embedded fields, the ",string"
// option, duplicate names, custom marshalers) is simply a leaf, which is
// slower but never different.

var (
	marshalerType       = reflect.TypeFor[json.Marshaler]()
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	isZeroerType        = reflect.TypeFor[interface{ IsZero() bool }]()
	timeType            = reflect.TypeFor[time.Time]()
	rawMessageType      = reflect.TypeFor[json.RawMessage]()
)

// custom reports whether t (or *t) decides its own JSON or text form.
func custom(t reflect.Type) bool {
	if t.Kind() == reflect.Interface {
		return false
	}
	p := reflect.PointerTo(t)
	for _, it := range []reflect.Type{marshalerType, unmarshalerType, textMarshalerType, textUnmarshalerType} {
		if t.Implements(it) || p.Implements(it) {
			return true
		}
	}
	return false
}

// objPlan describes an object: a struct's fields or a map's entries.
type objPlan struct {
	t      reflect.Type
	isMap  bool
	fields []fieldPlan  // struct
	elem   childPlan    // map
	table  *tableLayout // map of plain records: its table can be compared in place
}

type fieldPlan struct {
	index     int
	name      string
	key       []byte // `"name"`, as encoding/json writes it without HTML escaping
	omitEmpty bool
	omitZero  bool
	isZero    func(reflect.Value) bool // the field type's IsZero, for omitzero
	child     childPlan
}

// childPlan is how a member is encoded: as an object of its own or a leaf.
type childPlan struct {
	t    reflect.Type
	obj  *objPlan // nil for a leaf
	ops  *leafOps // for a leaf
	addr bool     // the member is addressable (a struct field), as encoding/json would see it
}

func leafPlan(t reflect.Type, addr bool) childPlan {
	return childPlan{t: t, ops: opsFor(t), addr: addr}
}

var plans struct {
	sync.Mutex
	obj map[reflect.Type]*objPlan // nil entry: not an object
}

// planFor returns the object plan of t, or nil when t is a leaf.
func planFor(t reflect.Type) *objPlan {
	plans.Lock()
	defer plans.Unlock()
	if plans.obj == nil {
		plans.obj = map[reflect.Type]*objPlan{}
	}
	return buildPlan(t, true)
}

func buildPlan(t reflect.Type, addr bool) *objPlan {
	if p, ok := plans.obj[t]; ok {
		return p
	}
	if custom(t) || (t.Kind() != reflect.Struct && t.Kind() != reflect.Map) {
		plans.obj[t] = nil
		return nil
	}
	p := &objPlan{t: t}
	plans.obj[t] = p // for recursive types; replaced by nil below if not an object
	ok := false
	if t.Kind() == reflect.Map {
		p.isMap = true
		ok = t.Key().Kind() == reflect.String && !custom(t.Key())
		if ok {
			p.elem = leafPlan(t.Elem(), false)
			if t.Elem().Kind() == reflect.Map {
				p.elem.obj = buildPlan(t.Elem(), false)
			}
			if p.elem.obj == nil && p.elem.ops.memEqual != nil {
				p.table = tableLayoutFor(t) // see maptable.go
			}
		}
	} else {
		ok = p.buildStruct(addr)
	}
	if !ok {
		plans.obj[t] = nil
		return nil
	}
	return p
}

// buildStruct fills in the fields of a plain struct, following
// encoding/json's typeFields for structs without embedded fields.
func (p *objPlan) buildStruct(addr bool) bool {
	t := p.t
	seen := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return false // flattening and dominance rules: leave to encoding/json
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !validTag(name) {
			name = ""
		}
		if hasOpt(opts, "string") {
			return false
		}
		if name == "" {
			name = sf.Name
		}
		if seen[name] {
			return false
		}
		seen[name] = true
		f := fieldPlan{
			index:     i,
			name:      name,
			key:       []byte(`"` + name + `"`),
			omitEmpty: hasOpt(opts, "omitempty"),
			omitZero:  hasOpt(opts, "omitzero"),
			child:     leafPlan(sf.Type, addr),
		}
		if f.omitZero {
			f.isZero = zeroFunc(sf.Type)
		}
		switch sf.Type.Kind() {
		case reflect.Map, reflect.Struct:
			f.child.obj = buildPlan(sf.Type, addr)
		}
		p.fields = append(p.fields, f)
	}
	return true
}

func hasOpt(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// validTag is encoding/json's isValidTag.
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// zeroFunc is encoding/json's test for omitzero.
func zeroFunc(t reflect.Type) func(reflect.Value) bool {
	type isZeroer = interface{ IsZero() bool }
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || (v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil()) ||
				v.Interface().(isZeroer).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.IsNil() || v.Interface().(isZeroer).IsZero() }
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.Interface().(isZeroer).IsZero() }
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				v2 := reflect.New(v.Type()).Elem()
				v2.Set(v)
				v = v2
			}
			return v.Addr().Interface().(isZeroer).IsZero()
		}
	}
	return reflect.Value.IsZero
}

// emptyValue is encoding/json's isEmptyValue, for omitempty.
func emptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

func (f *fieldPlan) omitted(v reflect.Value) bool {
	return (f.omitEmpty && emptyValue(v)) || (f.omitZero && f.isZero(v))
}

// mayNotReadBack reports whether encoding/json may write a value of t that
// it then refuses to decode into t: through a custom unmarshaler, or an
// interface with methods, which it cannot decode into at all.
func mayNotReadBack(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] || t == timeType || t == rawMessageType {
		return false
	}
	seen[t] = true
	if custom(t) {
		return true
	}
	switch t.Kind() {
	case reflect.Interface:
		return t.NumMethod() > 0
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return mayNotReadBack(t.Elem(), seen)
	case reflect.Map:
		return mayNotReadBack(t.Key(), seen) || mayNotReadBack(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			if (sf.IsExported() || sf.Anonymous) && mayNotReadBack(sf.Type, seen) {
				return true
			}
			if sf.Anonymous && sf.Type.Kind() == reflect.Pointer && !sf.IsExported() {
				return true // encoding/json cannot allocate it when decoding
			}
		}
	}
	return false
}

// zeroSeen reports whether omitzero's test of a value of t reads only what
// leaf comparison (ops.go) compares: no IsZero method, which may read
// anything, and no unexported field, which reflect.Value.IsZero reads.
func zeroSeen(t reflect.Type) bool {
	if t == timeType {
		return true // IsZero reads the instant, which timeEqual compares
	}
	if t.Implements(isZeroerType) || reflect.PointerTo(t).Implements(isZeroerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Array:
		return zeroSeen(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() && !sf.Anonymous || !zeroSeen(sf.Type) {
				return false
			}
		}
	}
	return true
}

// fieldsDecide reports whether two values of the struct t that compare
// equal field by field (ops.go) are sure to encode the same: false when
// an omitzero field's test reads more than that.
func fieldsDecide(t reflect.Type) bool {
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() && !sf.Anonymous {
			continue
		}
		_, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if hasOpt(opts, "omitzero") && !zeroSeen(sf.Type) {
			return false
		}
	}
	return true
}
