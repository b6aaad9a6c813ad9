package store

import (
	"strconv"
	"strings"
	"time"
)

// The names a Store gives the copies it keeps beside a document are built
// and recognised here: durable fsck asks ParseCorruptName and
// ParsePreMigrationName (and durable.ParseBackupName for backups, whose
// scheme the root package owns) instead of restating the formats.

const (
	corruptInfix = ".corrupt."
	corruptStamp = "2006-01-02T15-04-05.000Z" // UTC; no colons, for Windows
	preInfix     = ".pre-v"
)

// corruptName names the k-th (from 1) copy of a damaged target made at t:
// "target.corrupt.<time>", with "-k" after the time from the second on.
func corruptName(target string, t time.Time, k int) string {
	name := target + corruptInfix + t.UTC().Format(corruptStamp)
	if k > 1 {
		name += "-" + strconv.Itoa(k)
	}
	return name
}

// preMigrationName names the copy of target kept before migrating it from
// schema from: "target.pre-v<from>".
func preMigrationName(target string, from int) string {
	return target + preInfix + strconv.Itoa(from)
}

// ParseCorruptName reports whether name (a path or a base name) is a copy
// of a damaged document that a Store kept when it recovered from a backup,
// "name.corrupt.<time>", and returns the document's name and when the copy
// was made (to the millisecond).
func ParseCorruptName(name string) (of string, at time.Time, ok bool) {
	i := strings.LastIndex(name, corruptInfix)
	if i <= 0 {
		return "", time.Time{}, false
	}
	stamp := name[i+len(corruptInfix):]
	if len(stamp) < len(corruptStamp) {
		return "", time.Time{}, false
	}
	t, err := time.Parse(corruptStamp, stamp[:len(corruptStamp)])
	if err != nil {
		return "", time.Time{}, false
	}
	if rest := stamp[len(corruptStamp):]; rest != "" {
		k, err := strconv.Atoi(strings.TrimPrefix(rest, "-"))
		if !strings.HasPrefix(rest, "-") || err != nil || k < 2 || strconv.Itoa(k) != rest[1:] {
			return "", time.Time{}, false
		}
	}
	return name[:i], t, true
}

// ParsePreMigrationName reports whether name (a path or a base name) is
// the copy of a document that a Store kept before migrating it to a newer
// schema, "name.pre-v<schema>", and returns the document's name and the
// schema it was copied from.
func ParsePreMigrationName(name string) (of string, schema int, ok bool) {
	i := strings.LastIndex(name, preInfix)
	if i <= 0 {
		return "", 0, false
	}
	digits := name[i+len(preInfix):]
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || strconv.Itoa(n) != digits {
		return "", 0, false
	}
	return name[:i], n, true
}
