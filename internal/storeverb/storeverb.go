// Package storeverb is the grammar of the store verb that the durable and
// durable-pg commands share (durable store get FILE KEY.PATH, durable-pg
// store get URL#NAME KEY.PATH): its subcommands and how many arguments
// each takes, so that the two commands cannot drift apart.
package storeverb

import (
	"errors"
	"fmt"
)

// arity is, for each subcommand, the fewest and the most arguments it
// takes: the document first, then KEY.PATH (optional for get), then VALUE
// (set) or N (optional for incr).
var arity = map[string][2]int{"get": {1, 2}, "set": {3, 3}, "delete": {2, 2}, "incr": {2, 3}}

// Parse splits the store verb's arguments (after its flags) into the
// subcommand and its own arguments. The error is the usage message for an
// unknown subcommand or a wrong number of arguments.
func Parse(args []string) (sub string, rest []string, err error) {
	if len(args) == 0 {
		return "", nil, errors.New("want a subcommand: get, set, delete or incr")
	}
	sub, rest = args[0], args[1:]
	n, known := arity[sub]
	if !known {
		return "", nil, fmt.Errorf("unknown subcommand %q: want get, set, delete or incr", sub)
	}
	if len(rest) < n[0] || len(rest) > n[1] {
		return "", nil, fmt.Errorf("store %s: wrong number of arguments", sub)
	}
	return sub, rest, nil
}
