package store

import (
	"context"
	"fmt"

	"github.com/durable-go/durable"
)

// Backend keeps a Store's document somewhere other than a file: a row of a
// database shared by several machines, for instance (package
// github.com/durable-go/durable/pg implements it on PostgreSQL). With
// Options.Backend set, a Store keeps every promise of the package doc the
// same way: Update, Replace, Get, Watch, Validate, schemas and
// migrations, coalescing and revisions all work on the bytes the Backend
// keeps, in the same encoding. What the file backend adds around the file
// (backups and recovery from them, the pre-migration copy, modes, FS) does
// not apply: a document the backend holds that does not parse is reported
// with a *CorruptError and left alone.
type Backend interface {
	// Name identifies the document, in errors and as Store.Path. Stores
	// whose Backends have one Name share one queue of transactions in a
	// process, so it must differ between documents.
	Name() string
	// Read returns the document as last stored, or nil when there is
	// none. It takes no lock.
	Read(ctx context.Context) ([]byte, error)
	// Update calls fn with the stored document (nil when there is none)
	// while holding a lock that excludes every other Update of the
	// document, in every process and on every machine, and stores what fn
	// returns durably before it returns nil. When fn returns ErrNoChange
	// nothing is stored and Update returns nil; any other error of fn is
	// returned and nothing is stored. fn must not keep old; the Backend
	// must not change the slice fn returns.
	Update(ctx context.Context, fn func(old []byte) ([]byte, error)) error
	// Changes returns a channel that receives a value whenever the
	// document may have changed (a hint: Watch reads it again and sends
	// only new revisions), and is closed once ctx is done. Watch also
	// reads the document every Options.PollInterval, so a Backend that
	// cannot notify may return nil.
	Changes(ctx context.Context) <-chan struct{}
}

// update runs one transaction on the document, in its file or its
// Backend.
func (s *Store[T]) update(ctx context.Context, fn func(old []byte) ([]byte, error)) error {
	if s.be != nil {
		return s.be.Update(ctx, fn)
	}
	return s.upd.Update(ctx, fn)
}

// updateTarget is the file being updated past links, or the Backend's
// name.
func (s *Store[T]) updateTarget() string {
	if s.be != nil {
		return s.path
	}
	return s.upd.Target()
}

// GetContext is Get with a context, which bounds the read of a document
// kept by a Backend (Get gives such a read the Backend's own default
// timeout). For a file it is Get.
func (s *Store[T]) GetContext(ctx context.Context) (T, durable.Rev, error) {
	if s.be == nil {
		if err := ctx.Err(); err != nil {
			var zero T
			return zero, durable.Rev{}, err
		}
		return s.Get()
	}
	return s.getBackend(ctx)
}

// getBackend is Get for a document kept by a Backend.
func (s *Store[T]) getBackend(ctx context.Context) (T, durable.Rev, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		data, err := s.be.Read(ctx)
		if err != nil {
			return zero, durable.Rev{}, fmt.Errorf("store: reading %s: %w", s.path, err)
		}
		if data == nil {
			return s.defaultValue(), durable.Rev{}, nil
		}
		rev := durable.RevOf(data)
		p, perr := s.c.parse(data)
		if perr == nil && !s.needsMigration(p) {
			return p.val.Interface().(T), rev, nil
		}
		if perr != nil {
			return zero, durable.Rev{}, &CorruptError{Path: s.path, Cause: perr}
		}
		if attempt > 0 {
			return zero, durable.Rev{}, fmt.Errorf("store: %s changed again while it was being migrated", s.path)
		}
		// An older schema: migrate it in a transaction, then read again.
		r := &request[T]{s: s, ctx: ctx, load: true}
		s.do(r)
		if r.err != nil {
			return zero, durable.Rev{}, r.err
		}
	}
}
