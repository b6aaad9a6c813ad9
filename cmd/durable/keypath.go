package main

import (
	"errors"

	"github.com/durable-go/durable/internal/keypath"
)

// maxDocDepth bounds the nesting of a whole document: one deeper than
// encoding/json's limit could never be read back.
const maxDocDepth = 256

// jsonDepth is the deepest nesting of objects and arrays in the JSON text b.
func jsonDepth(b []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch ch := b[i]; {
		case inString && ch == '\\':
			i++
		case ch == '"':
			inString = !inString
		case inString:
		case ch == '{' || ch == '[':
			depth++
			deepest = max(deepest, depth)
		case ch == '}' || ch == ']':
			depth--
		}
	}
	return deepest
}

// The store verb's KEY.PATH edits are package keypath's (shared with
// durable-pg); a document that does not fit the path is refused input.

func parseKeyPath(s string) ([]string, error) { return keypath.Parse(s) }

func describe(v []byte) string { return keypath.Describe(v) }

func getPath(doc []byte, path []string) ([]byte, bool, error) {
	v, ok, err := keypath.Get(doc, path)
	return v, ok, refusedShape(err)
}

func setPath(doc []byte, path []string, v []byte) ([]byte, error) {
	out, err := keypath.Set(doc, path, v)
	return out, refusedShape(err)
}

func deletePath(doc []byte, path []string) ([]byte, error) {
	out, err := keypath.Delete(doc, path)
	return out, refusedShape(err)
}

// refusedShape makes a path that does not fit the document bad input
// (exitBadInput, the file unchanged).
func refusedShape(err error) error {
	if se := (*keypath.ShapeError)(nil); errors.As(err, &se) {
		return badInputf("%v", se)
	}
	return err
}
