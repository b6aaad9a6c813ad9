package keypath

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"a.b", []string{"a", "b"}},
		{`a\.b.c`, []string{"a.b", "c"}},
		{`a\\.b`, []string{`a\`, "b"}},
		{`a\b`, []string{`a\b`}},
	} {
		got, err := Parse(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Parse(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "a.", ".a", "a..b", strings.Repeat("k.", MaxDepth) + "k"} {
		if got, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", bad, got)
		}
	}
}

func TestEditsKeepTheRestAsItWas(t *testing.T) {
	doc := []byte(`{"z":1,"a":{"y":"é<","b":2},"m":[1]}`)
	out, err := Set(doc, []string{"a", "b"}, []byte(`3`))
	if want := `{"z":1,"a":{"y":"é<","b":3},"m":[1]}`; err != nil || string(out) != want {
		t.Fatalf("Set = %s, %v; want %s", out, err, want)
	}
	out, err = Set(out, []string{"n", "new"}, []byte(`true`))
	if want := `{"z":1,"a":{"y":"é<","b":3},"m":[1],"n":{"new":true}}`; err != nil || string(out) != want {
		t.Fatalf("Set of a new path = %s, %v; want %s", out, err, want)
	}
	out, err = Delete(out, []string{"a", "y"})
	if want := `{"z":1,"a":{"b":3},"m":[1],"n":{"new":true}}`; err != nil || string(out) != want {
		t.Fatalf("Delete = %s, %v; want %s", out, err, want)
	}
	if v, ok, err := Get(out, []string{"a", "b"}); err != nil || !ok || string(v) != "3" {
		t.Fatalf("Get = %s, %v, %v", v, ok, err)
	}
	if v, ok, err := Get(out, []string{"a", "x"}); err != nil || ok {
		t.Fatalf("Get of a missing key = %s, %v, %v", v, ok, err)
	}
	if out, err := Delete(doc, []string{"a", "x"}); err != nil || out != nil {
		t.Fatalf("Delete of a missing key = %s, %v; want nil: nothing to change", out, err)
	}
	if out, err := Set(nil, []string{"k"}, []byte(`1`)); err != nil || string(out) != `{"k":1}` {
		t.Fatalf("Set on no document = %s, %v", out, err)
	}
	if v, ok, err := Get(nil, []string{"k"}); err != nil || ok || v != nil {
		t.Fatalf("Get on no document = %s, %v, %v", v, ok, err)
	}
}

func TestPathThroughAValueIsAShapeError(t *testing.T) {
	doc := []byte(`{"a":{"s":"text","l":[1]}}`)
	for _, tc := range []struct {
		path []string
		want string
	}{
		{[]string{"a", "s", "x"}, "a.s is a string, not an object"},
		{[]string{"a", "l", "x"}, "a.l is an array, not an object"},
	} {
		_, _, gerr := Get(doc, tc.path)
		_, serr := Set(doc, tc.path, []byte(`1`))
		_, derr := Delete(doc, tc.path)
		for _, err := range []error{gerr, serr, derr} {
			var se *ShapeError
			if !errors.As(err, &se) || err.Error() != tc.want {
				t.Errorf("%q: %v, want a ShapeError %q", tc.path, err, tc.want)
			}
		}
	}
	var se *ShapeError
	if _, err := Set([]byte(`[1]`), []string{"k"}, []byte(`1`)); !errors.As(err, &se) || se.Where != "the document" {
		t.Errorf("Set in an array document: %v", err)
	}
}
