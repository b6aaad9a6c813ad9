package oauth

import (
	"context"

	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/store"
)

// Backend keeps the tokens somewhere other than a file, shared by
// machines: package github.com/durable-go/durable/pg implements it on
// PostgreSQL. The refresh protocol stays the same: take the account's
// claim, read the tokens again, and refresh only if the stored token is
// still the expired one; then write the new one if the stored refresh
// token is still the one spent. Because a claim held elsewhere can be lost
// (its database session ends), it is checked (lock.Held.Check) just
// before the token endpoint is asked: a lost claim never spends a refresh
// token that another holder may be spending too.
type Backend interface {
	// Document keeps the token document (the JSON a token file holds).
	Document() store.Backend
	// Claim takes account's refresh claim, an exclusive lock across every
	// process and machine that share the tokens, waiting until ctx is
	// done. It must outlive a refresh: a database session's lock is held
	// until Unlock or until the session ends, whatever the refresh timeout.
	Claim(ctx context.Context, account string) (*lock.Held, error)
}

// WithBackend keeps the tokens in b instead of a file; the path given to
// Open or NewTokenSource is then unused (Backend.Document names the
// tokens). Modes and narrowing do not apply: the database's access
// control guards the tokens.
func WithBackend(b Backend) Option { return func(o *options) { o.backend = b } }
