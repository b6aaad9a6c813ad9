package fsck

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/durable-go/durable"
)

// Temp files of package durable are named ".<target>.<token>.tmp", the
// token 12 characters of lower-case base32 (see durable's temp.go, and
// store's, which names its link temps the same way). A journal creates a
// segment as ".<base>.seg.tmp".
const (
	tempSuffix = ".tmp"
	tokenLen   = 12
	tokenChars = "abcdefghijklmnopqrstuvwxyz234567"
)

// isTempName reports whether name is a temp file of this module.
func isTempName(name string) bool {
	if !strings.HasPrefix(name, ".") || !strings.HasSuffix(name, tempSuffix) {
		return false
	}
	rest := strings.TrimSuffix(name[1:], tempSuffix)
	if _, ok := segmentBase(rest); ok {
		return true
	}
	if len(rest) < tokenLen+2 || rest[len(rest)-tokenLen-1] != '.' {
		return false
	}
	for _, c := range []byte(rest[len(rest)-tokenLen:]) {
		if strings.IndexByte(tokenChars, c) < 0 {
			return false
		}
	}
	return true
}

// copyKind is what a copy beside a file is.
type copyKind int

const (
	copyBackup       copyKind = iota + 1 // name.bak.N (store)
	copyCorrupt                          // name.corrupt.<time> (store)
	copyPreMigration                     // name.pre-vN (store)
	copyTorn                             // name.torn.<unix ns> (jsonl)
)

// copyOf parses the name of a backup or a kept copy, returning the name of
// the file it belongs to.
func copyOf(name string) (base string, k copyKind, ok bool) {
	if of, _, ok := durable.ParseBackupName(name); ok {
		return of, copyBackup, true
	}
	if i := strings.LastIndex(name, ".corrupt."); i > 0 {
		if _, ok := keptAt(name, copyCorrupt); ok {
			return name[:i], copyCorrupt, true
		}
	}
	if i := strings.LastIndex(name, ".pre-v"); i > 0 && isDigits(name[i+6:]) {
		return name[:i], copyPreMigration, true
	}
	if i := strings.LastIndex(name, ".torn."); i > 0 && isDigits(name[i+6:]) {
		return name[:i], copyTorn, true
	}
	return "", 0, false
}

// backupNumber is N of name.bak.N; the unnumbered name.bak of earlier
// releases is the oldest of all.
func backupNumber(name string) int {
	_, n, _ := durable.ParseBackupName(name)
	if n == 0 {
		return math.MaxInt32
	}
	return n
}

// keptAt reads the time a kept copy was made from its name: store's
// ".corrupt.2006-01-02T15-04-05.000Z[-k]", jsonl's ".torn.<unix ns>".
func keptAt(name string, k copyKind) (time.Time, bool) {
	switch k {
	case copyCorrupt:
		stamp := name[strings.LastIndex(name, ".corrupt.")+9:]
		if len(stamp) >= 24 {
			if t, err := time.Parse("2006-01-02T15-04-05.000Z", stamp[:24]); err == nil {
				return t, true
			}
		}
	case copyTorn:
		ns, err := strconv.ParseInt(name[strings.LastIndex(name, ".torn.")+6:], 10, 64)
		if err == nil && ns > 0 {
			return time.Unix(0, ns), true
		}
	}
	return time.Time{}, false
}

func isJSONLName(name string) bool {
	return strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".ndjson")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
