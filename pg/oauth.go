package pg

import (
	"context"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/oauth"
	"github.com/durable-go/durable/store"
)

// OpenTokens opens the OAuth tokens named name in the database: an
// *oauth.Tokens like oauth.Open's, shared by every replica of a service.
// A refresh happens once per expiry across all of them: the account's
// claim is an advisory lock, held by a session for as long as the refresh
// takes (a session lock has no lifetime of its own to run out, whatever
// the refresh timeout), checked with the server just before the token
// endpoint is asked, and the tokens are read again under it, so a
// rotating refresh token is spent once.
func OpenTokens(db *DB, name string, opts ...oauth.Option) (*oauth.Tokens, error) {
	if name == "" {
		return nil, fmt.Errorf("pg: tokens need a name")
	}
	return oauth.Open("", append(opts, oauth.WithBackend(db.Tokens(name)))...)
}

// NewTokenSource is oauth.NewTokenSource for the tokens named name in the
// database.
func NewTokenSource(ctx context.Context, db *DB, cfg *oauth2.Config, name, account string, opts ...oauth.Option) (*oauth.TokenSource, error) {
	if name == "" {
		return nil, fmt.Errorf("pg: tokens need a name")
	}
	return oauth.NewTokenSource(ctx, cfg, "", account, append(opts, oauth.WithBackend(db.Tokens(name)))...)
}

// Tokens returns the oauth.Backend that keeps the tokens named name in the
// database, for oauth.WithBackend. The document is named "oauth:" + name.
func (db *DB) Tokens(name string) oauth.Backend { return tokens{db: db, name: name} }

type tokens struct {
	db   *DB
	name string
}

func (t tokens) Document() store.Backend { return t.db.Document("oauth:" + t.name) }

func (t tokens) Claim(ctx context.Context, account string) (*lock.Held, error) {
	return t.db.Lock(ctx, "oauth-refresh:"+t.name+"\x00"+account)
}
