package fsck

import (
	"errors"

	"github.com/durable-go/durable/store"
)

// storeLog checks that a store document's patch log replays onto the
// document (store.CheckLog, reading only); the journal itself was checked
// as any journal.
func (c *checker) storeLog(doc, dir string) {
	err := store.CheckLog(doc)
	if err == nil {
		return
	}
	var lc *store.LogConflictError
	action := "not fixable by fsck: the log is damaged; durable store compact --discard " + doc + " sets its patches aside (kept as evidence)"
	if errors.As(err, &lc) {
		action = "not fixable by fsck: keep the edit with durable store compact --discard " + doc + " (the patches are kept as evidence), or put back the version the patches apply to"
	}
	c.add(Finding{Path: dir, Kind: StoreLog, Problem: true, Detail: errText(err, dir), Action: action})
}
