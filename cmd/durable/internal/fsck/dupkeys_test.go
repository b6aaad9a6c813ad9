package fsck

import "testing"

func TestDuplicateKey(t *testing.T) {
	for _, tc := range []struct {
		doc, path, key string
		found          bool
	}{
		{`{"a":1,"b":2}`, "", "", false},
		{`{"a":1,"a":2}`, ".", "a", true},
		{`{"x":{"y":[1,{"k":1,"k":2}]}}`, ".x.y.1", "k", true},
		{`{"a":{"b":1},"c":{"b":1}}`, "", "", false},
		{`[{"a":1},{"a":1}]`, "", "", false},
		{`{"a":[],"b":{},"a":3}`, ".", "a", true},
		{`{"s":"a","t":{"a":1}}`, "", "", false},
		{`not json`, "", "", false},
	} {
		path, key, found := DuplicateKey([]byte(tc.doc))
		if path != tc.path || key != tc.key || found != tc.found {
			t.Errorf("DuplicateKey(%s) = %q, %q, %v; want %q, %q, %v", tc.doc, path, key, found, tc.path, tc.key, tc.found)
		}
	}
}
