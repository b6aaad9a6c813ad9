package bench

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/durable-go/durable/store"
)

// StoreKeysFor is how many keys make a StoreDoc of about size bytes as the
// store writes it (about 100 bytes a key).
func StoreKeysFor(size int) int { return max(1, size/100) }

// FieldUpdater changes one field of one key of a StoreDoc per call: the
// store workload of issue 23 ("one field of a map document").
type FieldUpdater struct {
	s    *store.Store[StoreDoc]
	keys int
	seq  atomic.Int64
	// Member: through store.UpdateMember rather than Update, which in log
	// mode spares the compare of the whole map. The single-writer field
	// workloads set it in log mode (issue 23's row is one-field updates);
	// the multi-process one keeps Update.
	Member bool
}

// SeedStore writes a keys-key StoreDoc to path through a store, in the
// default mode, and returns the bytes the store wrote.
func SeedStore(path string, keys int) ([]byte, error) {
	s, err := store.Open[StoreDoc](path, nil)
	if err != nil {
		return nil, err
	}
	doc := NewStoreDoc(keys)
	if _, err := s.Update(context.Background(), func(d *StoreDoc) error { *d = doc; return nil }); err != nil {
		return nil, err
	}
	if err := closeStore(s); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// OpenFieldUpdater opens the store at path (seeded with SeedStore), in
// log mode when log is set.
func OpenFieldUpdater(path string, keys int, log bool) (*FieldUpdater, error) {
	opts, err := storeOptions(log)
	if err != nil {
		return nil, err
	}
	s, err := store.Open(path, opts)
	if err != nil {
		return nil, err
	}
	return &FieldUpdater{s: s, keys: keys}, nil
}

// Update increments one key's Hits, a different key each call.
func (u *FieldUpdater) Update(ctx context.Context) error {
	i := int(u.seq.Add(1))
	k := StoreKey(i * 7919 % u.keys)
	if u.Member {
		// In log mode, through the call made for it: one member, which
		// spares the compare of the whole map (store.UpdateMember).
		_, err := store.UpdateMember(ctx, u.s, "entries", k, func(e *StoreEntry) error {
			e.Hits++
			return nil
		})
		return err
	}
	_, err := u.s.Update(ctx, func(d *StoreDoc) error {
		e := d.Entries[k]
		e.Hits++
		d.Entries[k] = e
		return nil
	})
	return err
}

// Close closes the store (in log mode that compacts).
func (u *FieldUpdater) Close() error { return closeStore(u.s) }

// RawDoc is the floor of a one-field update: the raw replace of bytes as
// large as the store's file, each call with one byte changed.
type RawDoc struct {
	path    string
	data    []byte
	replace func(string, []byte) error
	seq     int
}

// NewRawDoc replaces dir/name with data on every Update.
func NewRawDoc(dir, name string, data []byte) *RawDoc {
	return &RawDoc{path: filepath.Join(dir, name), data: data, replace: RawReplacer()}
}

// Update changes one byte and replaces the file. Not safe for concurrent
// use.
func (r *RawDoc) Update() error {
	r.seq++
	r.data[len(r.data)/2] = byte('a' + r.seq%26)
	return r.replace(r.path, r.data)
}
