// Package jsonenc keeps the JSON encoding of a value up to date as the
// value changes in place, for the store's documents.
//
// Its guarantee: what Append writes is byte for byte what encoding/json
// writes for the value as last given to Sync (json.Marshal of a pointer to
// it, without HTML escaping, indented as json.MarshalIndent does), whatever
// the type does: marshalers, IsZero methods and omitzero, TextMarshaler map
// keys, embedded structs, unexported state. It never returns invalid JSON,
// and it refuses (Sync fails) an encoding encoding/json cannot read back
// into the type. A failed Sync leaves the tree as it was, and the undo
// SaveForUndo returns puts the value back exactly, unexported fields
// included.
//
// A Codec picks its path by the document's size. A small document is
// encoded whole by encoding/json on every Sync, where nothing cleverer is
// faster. A large one of a plain struct or string-keyed map type is kept as
// a tree of its members' encodings: Sync compares rather than re-encodes
// what did not change (a large map's members where the map keeps them,
// mapiter.go; for a map of plain records, only the slots whose memory
// differs from a copy of the map's hash table, maptable.go), and Append
// rewrites only the blocks of a large map's last encoding that hold a
// changed member (see mapCache). MergePatch reads what a map of leaves
// replaced since Shape from its edit list (patch.go). The differential
// tests and the fuzzer FuzzCodecDiff (package jsonenctest, shared with the
// store's, which runs them through Store.Update) drive a Codec as the store
// does, through in-place mutations, aliases, shared slices and failing and
// panicking updates, with maps cut into blocks of a few members, and
// compare every document with encoding/json's; TestPlanMatchesEncodingJSON
// checks the plan's reading of struct tags against encoding/json over
// generated types.
//
// A typical update:
//
//	undo := c.SaveForUndo(tree, v) // before v changes
//	change(v)
//	next, changed, err := c.Sync(tree, v)
//	if err != nil {
//		return errors.Join(err, undo()) // v as it was; tree still describes it
//	}
//	tree = next
//	if changed {
//		buf, err = c.Append(buf[:0], tree, nil, nil)
//	}
package jsonenc
