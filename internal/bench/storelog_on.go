package bench

import "github.com/durable-go/durable/store"

// StoreLogMode reports whether the benchmarks measure the store's log mode
// (store.Options.Log): always, now that the store has it.
const StoreLogMode = true

func storeOptions(log bool) (*store.Options[StoreDoc], error) {
	if log {
		return &store.Options[StoreDoc]{Log: true}, nil
	}
	return nil, nil
}

// closeStore closes a store: in log mode Close compacts the pending patches
// into the snapshot.
func closeStore(s *store.Store[StoreDoc]) error { return s.Close() }
