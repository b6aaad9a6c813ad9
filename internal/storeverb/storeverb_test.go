package storeverb

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args []string
		sub  string
		err  string // a part of the usage message; "" for none
	}{
		{nil, "", "want a subcommand"},
		{[]string{"put", "f", "k"}, "", `unknown subcommand "put"`},
		{[]string{"get"}, "", "store get: wrong number"},
		{[]string{"get", "f"}, "get", ""},
		{[]string{"get", "f", "a.b"}, "get", ""},
		{[]string{"get", "f", "a.b", "x"}, "", "store get: wrong number"},
		{[]string{"set", "f", "k"}, "", "store set: wrong number"},
		{[]string{"set", "f", "k", "1"}, "set", ""},
		{[]string{"delete", "f"}, "", "store delete: wrong number"},
		{[]string{"delete", "f", "k"}, "delete", ""},
		{[]string{"incr", "f", "k"}, "incr", ""},
		{[]string{"incr", "f", "k", "5"}, "incr", ""},
		{[]string{"incr", "f", "k", "5", "6"}, "", "store incr: wrong number"},
	} {
		sub, rest, err := Parse(tc.args)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q): %v, want an error saying %q", tc.args, err, tc.err)
			}
		case err != nil || sub != tc.sub || len(rest) != len(tc.args)-1:
			t.Errorf("Parse(%q) = %q, %q, %v; want %q and the rest", tc.args, sub, rest, err, tc.sub)
		}
	}
}
