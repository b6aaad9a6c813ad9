package jsonl

import "testing"

func TestParseEvidenceName(t *testing.T) {
	name := "dir/app.jsonl" + EvidenceInfix + "1700000000000000000"
	if of, at, ok := ParseEvidenceName(name); !ok || of != "dir/app.jsonl" || at.UnixNano() != 1700000000000000000 {
		t.Errorf("ParseEvidenceName(%q) = %q, %v, %v", name, of, at, ok)
	}
	for _, bad := range []string{"a.jsonl.torn.", "a.jsonl.torn.0", "a.jsonl.torn.-5", "a.jsonl.torn.017", "a.jsonl.torn.1x", ".torn.5"} {
		if _, _, ok := ParseEvidenceName(bad); ok {
			t.Errorf("ParseEvidenceName(%q) accepted", bad)
		}
	}
}
