package store

import (
	"context"
	"fmt"
	"io/fs"
	"reflect"
	"strings"

	"github.com/durable-go/durable"
)

// UpdateMember is Update for the most common change of a large document:
// one member of a map. It runs fn on a copy of the member named key of
// the map in the document's field named field (its name in the JSON
// file), zero if the map does not hold it, and stores the copy back into
// the map, creating the map or the member if need be. Everything else
// about it is Update's: the lock, the batching with other updates,
// Options.Validate, the undo when fn fails or panics, durability.
//
//	rev, err := store.UpdateMember(ctx, s, "entries", id, func(e *Entry) error {
//		e.Hits++
//		return nil
//	})
//
// In log mode (Options.Log) it is cheaper than the same change through
// Update when the map is large: fn can reach nothing but its copy of the
// member, so the store need not compare the rest of the document to find
// what changed (Update compares the whole map: at 10,000 members, half
// the CPU time of an update in BenchmarkLogMember, warm or cold). That
// takes a member that exists already, of a type with no pointers, maps,
// slices or interfaces (plain records of numbers, strings, booleans and
// times), in a map that no other field of the document's type could hold
// too, and no Options.Validate (which sees the whole document); any other
// change takes Update's path, with the same result.
//
// An error about the arguments is a *fs.PathError with the store's path.
//
// The field must be one of T's own (not one promoted from an embedded
// struct), and hold a map whose keys are strings (or a string type) and
// whose values are of type V; UpdateMember fails with an error otherwise,
// before anything is done.
func UpdateMember[T, V any](ctx context.Context, s *Store[T], field, key string, fn func(*V) error) (durable.Rev, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return durable.Rev{}, err
	}
	idx, mt, err := memberField(reflect.TypeFor[T](), field, reflect.TypeFor[V]())
	if err != nil {
		return durable.Rev{}, &fs.PathError{Op: "update", Path: s.path, Err: err}
	}
	kv := reflect.ValueOf(key).Convert(mt.Key())
	r := &request[T]{s: s, ctx: ctx}
	// Update's path: the same change, made on the document.
	r.fn = func(d *T) error {
		m := reflect.ValueOf(d).Elem().Field(idx)
		var v V
		if cur := m.MapIndex(kv); cur.IsValid() {
			v = cur.Interface().(V)
		}
		if err := fn(&v); err != nil {
			return err
		}
		if m.IsNil() {
			m.Set(reflect.MakeMap(mt))
		}
		m.SetMapIndex(kv, reflect.ValueOf(&v).Elem())
		return nil
	}
	r.member = &memberOp{field: idx, key: kv, fn: func(e reflect.Value) error { return fn(e.Addr().Interface().(*V)) }}
	s.do(r)
	return r.rev, r.err
}

// memberOp is UpdateMember's change, for the log mode's shortcut
// (applyMember).
type memberOp struct {
	field int           // the field of T that holds the map
	key   reflect.Value // the member's key, of the map's key type
	fn    func(elem reflect.Value) error
}

// memberField finds the field of struct type t named name in JSON, and
// checks that it holds a map of string keys and elem values.
func memberField(t reflect.Type, name string, elem reflect.Type) (int, reflect.Type, error) {
	if t.Kind() != reflect.Struct {
		return 0, nil, fmt.Errorf("UpdateMember: the document's type %v is not a struct", t)
	}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous || !sf.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if sf.Tag.Get("json") == "-" {
			continue
		}
		if tag == "" {
			tag = sf.Name
		}
		if tag != name {
			continue
		}
		ft := sf.Type
		if ft.Kind() != reflect.Map || ft.Key().Kind() != reflect.String || ft.Elem() != elem {
			return 0, nil, fmt.Errorf("UpdateMember: field %q of %v is a %v, not a map of string keys to %v", name, t, ft, elem)
		}
		return i, ft, nil
	}
	return 0, nil, fmt.Errorf("UpdateMember: %v has no field %q", t, name)
}

// applyMember is apply for an UpdateMember request in log mode, through
// the encoder's SetMember: handled is false when that cannot take it
// (nothing was run then), and the request goes through apply.
func (s *Store[T]) applyMember(st *state, r *request[T]) (handled bool, err error) {
	if r.member == nil || s.opt.Validate != nil {
		return false, nil // Validate sees the whole document: Update's path
	}
	m := r.member
	var fnErr error
	defer func() {
		if p := recover(); p != nil {
			// fn's panic, or one in the encoder: either way SetMember
			// left the map and the tree as they were.
			r.panicked = p
			handled, err = true, errPanicked
		}
	}()
	root, changed, handled, err := s.c.enc.SetMember(st.root, st.val, m.field, m.key, func(e reflect.Value) error {
		fnErr = m.fn(e)
		return fnErr
	})
	switch {
	case !handled:
		return false, nil
	case fnErr != nil:
		return true, fnErr
	case err != nil:
		return true, &invalidError{err}
	}
	st.root, r.changed = root, changed
	return true, nil
}
