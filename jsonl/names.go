package jsonl

import (
	"strconv"
	"strings"
	"time"
)

// ParseEvidenceName reports whether name (a path or a base name) is an
// evidence file that Repair (or an append's repair) wrote, the torn bytes it
// cut from a file: "file.jsonl.torn.<unix nanoseconds>" (EvidenceInfix).
// It returns the file's name and when the evidence was written. durable
// fsck asks it instead of restating the format.
func ParseEvidenceName(name string) (of string, at time.Time, ok bool) {
	i := strings.LastIndex(name, EvidenceInfix)
	if i <= 0 {
		return "", time.Time{}, false
	}
	digits := name[i+len(EvidenceInfix):]
	ns, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || ns <= 0 || strconv.FormatInt(ns, 10) != digits {
		return "", time.Time{}, false
	}
	return name[:i], time.Unix(0, ns), true
}
