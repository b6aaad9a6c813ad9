package fsck

import (
	"math"
	"strings"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/queue"
	"github.com/durable-go/durable/store"
)

// fsck restates no file-name format: every name is recognised by the
// package that creates it (issue 21). A writer that changes a format
// changes its classifier, and fsck follows.

// isTempName reports whether name is a temp file of this module: package
// durable's (".name.<token>.tmp", which store and jsonl use too) or a
// journal's (a segment being created or dropped).
func isTempName(name string) bool {
	if _, ok := durable.ParseTempName(name); ok {
		return true
	}
	return journal.IsTempName(name)
}

// isLockName reports whether name is a sidecar lock file (package lock).
func isLockName(name string) bool { return strings.HasSuffix(name, lock.Suffix) }

// isStoreLogName reports whether name is a store document's patch log
// (a journal directory beside the document), and names the document.
func isStoreLogName(name string) (doc string, ok bool) { return store.ParseLogName(name) }

// isSegmentName reports whether name is a journal segment.
func isSegmentName(name string) bool {
	_, ok := journal.ParseSegmentName(name)
	return ok
}

// isQueueOrigin reports whether a checkpoint's origin is a queue's.
func isQueueOrigin(origin string) bool { return queue.IsOrigin(origin) }

// copyKind is what a copy beside a file is.
type copyKind int

const (
	copyBackup       copyKind = iota + 1 // name.bak.N (durable, store, the CLI)
	copyCorrupt                          // name.corrupt.<time> (store)
	copyPreMigration                     // name.pre-vN (store)
	copyTorn                             // name.torn.<unix ns> (jsonl)
	copyDiscardedLog                     // name.patchlog.discarded.<time> (store)
)

// copyOf asks each package whether name is a backup or a kept copy of
// its, and returns the name of the file it belongs to.
func copyOf(name string) (base string, k copyKind, ok bool) {
	if of, _, ok := durable.ParseBackupName(name); ok {
		return of, copyBackup, true
	}
	if of, _, ok := store.ParseCorruptName(name); ok {
		return of, copyCorrupt, true
	}
	if of, _, ok := store.ParsePreMigrationName(name); ok {
		return of, copyPreMigration, true
	}
	if of, _, ok := jsonl.ParseEvidenceName(name); ok {
		return of, copyTorn, true
	}
	if of, _, ok := store.ParseDiscardedLogName(name); ok {
		return of, copyDiscardedLog, true
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

// keptAt reads the time a kept copy was made from its name.
func keptAt(name string, k copyKind) (time.Time, bool) {
	switch k {
	case copyCorrupt:
		_, at, ok := store.ParseCorruptName(name)
		return at, ok
	case copyTorn:
		_, at, ok := jsonl.ParseEvidenceName(name)
		return at, ok
	case copyDiscardedLog:
		_, at, ok := store.ParseDiscardedLogName(name)
		return at, ok
	}
	return time.Time{}, false
}

// isJSONLName reports whether name is a JSON Lines file by the usual
// extensions: names users choose, not ones this module makes.
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
