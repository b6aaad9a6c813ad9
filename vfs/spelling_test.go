package vfs

import (
	"slices"
	"testing"
)

func TestSpellings(t *testing.T) {
	names := []string{"config.json", "other.json", "caf\u00e9.txt", "Config.JSON.bak", "cafe\u0301.txt"}
	for _, tc := range []struct {
		base  string
		exact bool
		want  []string
	}{
		{"config.json", true, nil},
		{"Config.json", false, []string{"config.json"}},
		{"CONFIG.JSON", false, []string{"config.json"}},
		{"new.json", false, nil},
		{"cafe\u0301.txt", true, nil},
		{"CAF\u00c9.txt", false, []string{"caf\u00e9.txt", "cafe\u0301.txt"}},
	} {
		exact, got := spellings(names, tc.base)
		if exact != tc.exact || !slices.Equal(got, tc.want) {
			t.Errorf("spellings(%q) = %v, %q; want %v, %q", tc.base, exact, got, tc.exact, tc.want)
		}
	}
}
