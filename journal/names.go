package journal

import (
	"strings"
)

// The names a Journal creates in its directory are recognised here, so that
// durable fsck (and anyone else) asks rather than restating them: segments,
// the files that exist only while a segment is created or dropped, and the
// evidence of a cut torn tail. The rest are fixed: the locks
// ("journal" + lock.Suffix, and "flush" + lock.Suffix once processes share
// a flush), the checkpoint ("checkpoint") and the evidence directory
// ("evidence").

// ParseSegmentName reports whether name is a segment's file name, twenty
// decimal digits and ".seg", and returns the index of the segment's first
// record.
func ParseSegmentName(name string) (base uint64, ok bool) { return parseSegName(name) }

// IsTempName reports whether name is a file that a Journal makes for a
// moment in its directory and removes when it next opens it: a segment
// being created (".<segment>.tmp") or, on Windows, one being dropped
// (".dropped.<segment>.tmp"). Neither ever holds acknowledged records
// that are not also in a segment.
func IsTempName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, segSuffix+".tmp")
}

// IsEvidenceName reports whether name, in the journal's evidence
// directory, is the copy of a torn tail that recovery cut:
// "<segment base>-<offset>-<hash>.torn".
func IsEvidenceName(name string) bool {
	rest, ok := strings.CutSuffix(name, ".torn")
	if !ok {
		return false
	}
	parts := strings.Split(rest, "-")
	if len(parts) != 3 || len(parts[0]) != 20 || len(parts[1]) != 12 || len(parts[2]) != 12 {
		return false
	}
	return strings.Trim(parts[0]+parts[1], "0123456789") == "" && strings.Trim(parts[2], "0123456789abcdef") == ""
}
