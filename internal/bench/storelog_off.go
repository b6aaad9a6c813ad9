//go:build !storelog

package bench

import (
	"errors"

	"github.com/durable-go/durable/store"
)

// StoreLogMode reports whether this build measures the store's log mode
// (store.Options.Log): build with -tags storelog where the store has it.
const StoreLogMode = false

func storeOptions(log bool) (*store.Options[StoreDoc], error) {
	if log {
		return nil, errors.New("the store's log mode is measured only in builds with -tags storelog")
	}
	return nil, nil
}

// closeStore is a no-op: a store in the default mode holds nothing open.
func closeStore(*store.Store[StoreDoc]) error { return nil }
