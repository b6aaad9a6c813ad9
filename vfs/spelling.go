package vfs

import (
	"strings"
	"unicode/utf8"
)

// spellings sorts a directory's names for onDiskName on a filesystem that
// is case- and normalization-insensitive: exact says base itself is among
// them; otherwise candidates are the names that may be another spelling
// of base (equal under case folding, or, where both hold other than
// ASCII, possibly another normalization of it), to be told apart by file
// identity.
func spellings(names []string, base string) (exact bool, candidates []string) {
	for _, n := range names {
		if n == base {
			return true, nil
		}
		if strings.EqualFold(n, base) || !isASCII(n) && !isASCII(base) {
			candidates = append(candidates, n)
		}
	}
	return false, candidates
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
