package fsck

import (
	"fmt"
	"testing"
	"time"
)

func TestNames(t *testing.T) {
	for name, want := range map[string]bool{
		".a.json.abcdefghijkl.tmp":              true,
		".a.json.abcdefghijk2.tmp":              true,
		".00000000000000000042.seg.tmp":         true,
		".a.json.ABCDEFGHIJKL.tmp":              false,
		".a.json.abcdefghijk.tmp":               false,
		"a.json.abcdefghijkl.tmp":               false,
		".abcdefghijkl.tmp":                     false,
		".0000000000000000004.seg.tmp":          true, // journal.IsTempName: a journal removes it on open
		".dropped.00000000000000000042.seg.tmp": true,
		".a.json.abcdefghijkl.tmp.bak.1":        false,
		".cfg.json.bak.1.abcdefghijkl.tmp":      true,
	} {
		if isTempName(name) != want {
			t.Errorf("isTempName(%q) = %v", name, !want)
		}
	}
	for name, want := range map[string]string{
		"a.json.bak.1": "a.json 1",
		"a.json.bak.x": "",
		"a.json.corrupt.2024-01-02T03-04-05.000Z": "a.json 2",
		"a.json.pre-v3":   "a.json 3",
		"a.jsonl.torn.17": "a.jsonl 4",
		"a.jsonl.torn.":   "",
		".bak.1":          "",
	} {
		base, k, ok := copyOf(name)
		got := ""
		if ok {
			got = fmt.Sprintf("%s %d", base, k)
		}
		if got != want {
			t.Errorf("copyOf(%q) = %q, want %q", name, got, want)
		}
	}
	at, ok := keptAt("a.corrupt.2024-01-02T03-04-05.000Z-2", copyCorrupt)
	if !ok || !at.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("keptAt: %v %v", at, ok)
	}
	if secretKey([]byte(`{"accounts":{"x":{"refresh_token":"r"}}}`)) != "refresh_token" ||
		secretKey([]byte(`{"password":""}`)) != "" || secretKey([]byte(`{"token":true}`)) != "" ||
		secretKey([]byte(`[{"api_key":"k"}]`)) != "api_key" {
		t.Error("secretKey")
	}
}
