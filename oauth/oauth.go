// Package oauth keeps OAuth 2.0 tokens in a file and refreshes them safely
// when several processes share them.
//
// NewTokenSource returns an oauth2.TokenSource backed by a store file that
// holds the tokens of several named accounts. When the access token has
// expired, the source takes the file's cross-process lock, reads the file
// again, and refreshes only if the stored token is still expired: if another
// process refreshed meanwhile, it uses that token instead. So N processes
// that share one refresh token, with a provider that rotates refresh tokens
// (each works once), refresh once per expiry and all continue with the new
// token; none is left holding a refresh token that was already used. The
// refreshed token is written durably before it is returned or used, so a
// crash right after a refresh cannot lose the only valid refresh token.
//
// The file is a store document (see package store): JSON, mode 0o600 in a
// 0o700 directory, with a backup of the previous version:
//
//	{
//	  "accounts": {
//	    "github": {
//	      "access_token": "…",
//	      "token_type": "Bearer",
//	      "refresh_token": "…",
//	      "expiry": "2025-06-01T12:00:00Z"
//	    }
//	  }
//	}
//
// Token values never appear in errors or in String output. An error from the
// token endpoint is reported as a *RefreshError with the endpoint's error
// code and description (with any token in them masked), not its raw body;
// errors.Is(err, ErrReauth) tells that the refresh token was refused and the
// user must sign in again.
package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"
)

var (
	// ErrNoToken: no token is stored for the account. Save one after the
	// user signs in.
	ErrNoToken = errors.New("oauth: no token stored for this account")
	// ErrReauth: the token endpoint refused the refresh token (or there is
	// none and the access token expired); the user must sign in again.
	ErrReauth = errors.New("oauth: the refresh token was refused; sign in again")
)

// DefaultExpiryDelta is how long before its expiry a token is refreshed,
// as in golang.org/x/oauth2.
const DefaultExpiryDelta = 10 * time.Second

// An Option configures Open and NewTokenSource.
type Option func(*options)

type options struct {
	fs    vfs.FS
	delta time.Duration
}

// WithFS keeps the file on fsys (a vfs.MemFS in tests) instead of the OS.
func WithFS(fsys vfs.FS) Option { return func(o *options) { o.fs = fsys } }

// WithExpiryDelta refreshes tokens d before they expire (DefaultExpiryDelta
// by default).
func WithExpiryDelta(d time.Duration) Option { return func(o *options) { o.delta = d } }

// Tokens is a file of tokens, one per named account.
type Tokens struct {
	path string
	st   *store.Store[file]
	o    options
}

type file struct {
	Accounts map[string]*stored `json:"accounts"`
}

// stored is a token as the file holds it.
type stored struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	Scope        string    `json:"scope,omitempty"`
	IDToken      string    `json:"id_token,omitempty"`
}

// Open opens the token file at path (which need not exist yet). The error
// may be a warning that comes with usable Tokens (store.IsWarning), such as
// a file that others can read (store.ErrInsecure).
func Open(path string, opts ...Option) (*Tokens, error) {
	o := options{delta: DefaultExpiryDelta}
	for _, opt := range opts {
		opt(&o)
	}
	st, err := store.Open(path, &store.Options[file]{FS: o.fs, Secret: true})
	if st == nil {
		return nil, err
	}
	return &Tokens{path: path, st: st, o: o}, err
}

func (t *Tokens) String() string   { return fmt.Sprintf("oauth.Tokens(%s)", t.path) }
func (t *Tokens) GoString() string { return t.String() }

// Save stores tok for account (after the user signs in), replacing any
// token it had, durably.
func (t *Tokens) Save(ctx context.Context, account string, tok *oauth2.Token) error {
	if tok == nil || tok.AccessToken == "" && tok.RefreshToken == "" {
		return fmt.Errorf("oauth: saving %q in %s: the token is empty", account, t.path)
	}
	s := fromOAuth2(tok)
	_, err := t.st.Update(ctx, func(f *file) error {
		if f.Accounts == nil {
			f.Accounts = map[string]*stored{}
		}
		f.Accounts[account] = s
		return nil
	})
	return err
}

// Token returns the token stored for account as it is, without
// refreshing it (ErrNoToken if there is none).
func (t *Tokens) Token(account string) (*oauth2.Token, error) {
	f, _, err := t.st.Get()
	if err != nil && !store.IsWarning(err) {
		return nil, err
	}
	s := f.Accounts[account]
	if s == nil {
		return nil, fmt.Errorf("%w: %q in %s", ErrNoToken, account, t.path)
	}
	return s.toOAuth2(), nil
}

// Remove deletes account's token from the file, durably. It does not
// revoke the token with the provider: do that first if the provider
// supports it. Removing an account that has no token is not an error.
func (t *Tokens) Remove(ctx context.Context, account string) error {
	_, err := t.st.Update(ctx, func(f *file) error {
		if _, ok := f.Accounts[account]; !ok {
			return store.ErrNoChange
		}
		delete(f.Accounts, account)
		return nil
	})
	return err
}

// Accounts lists the accounts that have a token, sorted.
func (t *Tokens) Accounts() ([]string, error) {
	f, _, err := t.st.Get()
	if err != nil && !store.IsWarning(err) {
		return nil, err
	}
	var names []string
	for name := range f.Accounts {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// NewTokenSource opens the token file at path and returns a TokenSource
// for account. ctx is used for the requests to the token endpoint (as with
// oauth2.Config.TokenSource; put a custom *http.Client in it with
// oauth2.HTTPClient) and bounds the wait for the file's lock.
func NewTokenSource(ctx context.Context, cfg *oauth2.Config, path, account string, opts ...Option) (*TokenSource, error) {
	t, err := Open(path, opts...)
	if t == nil {
		return nil, err
	}
	return t.TokenSource(ctx, cfg, account), err
}

// TokenSource returns a TokenSource for account. It is safe for
// concurrent use.
func (t *Tokens) TokenSource(ctx context.Context, cfg *oauth2.Config, account string) *TokenSource {
	if ctx == nil {
		ctx = context.Background()
	}
	return &TokenSource{t: t, ctx: ctx, cfg: cfg, account: account}
}

// TokenSource is an oauth2.TokenSource whose tokens live in a Tokens file.
type TokenSource struct {
	t       *Tokens
	ctx     context.Context
	cfg     *oauth2.Config
	account string

	mu      sync.Mutex
	cur     *stored // the token last handed out, as stored
	unsaved *stored // a refreshed token whose write failed, to retry
	from    string  // the refresh token unsaved was obtained with
}

var _ oauth2.TokenSource = (*TokenSource)(nil)

func (ts *TokenSource) String() string {
	return fmt.Sprintf("oauth.TokenSource(%s, account %q)", ts.t.path, ts.account)
}

func (ts *TokenSource) GoString() string { return ts.String() }

// Remove deletes this account's token from the file.
func (ts *TokenSource) Remove(ctx context.Context) error {
	ts.mu.Lock()
	ts.cur, ts.unsaved = nil, nil
	ts.mu.Unlock()
	return ts.t.Remove(ctx, ts.account)
}

func (ts *TokenSource) valid(s *stored) bool {
	if s == nil || s.AccessToken == "" {
		return false
	}
	return s.Expiry.IsZero() || time.Now().Add(ts.t.o.delta).Before(s.Expiry)
}

// Token returns a valid token for the account, refreshing it if needed.
// A refreshed token is on disk before Token returns it.
func (ts *TokenSource) Token() (*oauth2.Token, error) {
	ts.mu.Lock()
	cur, unsaved := ts.cur, ts.unsaved
	ts.mu.Unlock()
	if unsaved != nil {
		if err := ts.saveUnsaved(); err != nil {
			return nil, err
		}
		ts.mu.Lock()
		cur = ts.cur
		ts.mu.Unlock()
	}
	if ts.valid(cur) {
		return cur.toOAuth2(), nil
	}
	// Another process may have refreshed it: look before locking.
	f, _, err := ts.t.st.Get()
	if err != nil && !store.IsWarning(err) {
		return nil, ts.wrap(err)
	}
	if s := f.Accounts[ts.account]; ts.valid(s) {
		ts.remember(s)
		return s.toOAuth2(), nil
	}
	var out, refreshed *stored
	var from string
	_, err = ts.t.st.Update(ts.ctx, func(f *file) error {
		s := f.Accounts[ts.account]
		if s == nil {
			return fmt.Errorf("%w: %q in %s", ErrNoToken, ts.account, ts.t.path)
		}
		if ts.valid(s) {
			// Refreshed by someone else since we looked.
			out = s.clone()
			return store.ErrNoChange
		}
		if s.RefreshToken == "" {
			return &RefreshError{Account: ts.account, Description: "the access token expired and there is no refresh token", reauth: true}
		}
		n, err := ts.refresh(s)
		if err != nil {
			return err
		}
		refreshed, from = n, s.RefreshToken
		f.Accounts[ts.account] = n
		out = n.clone()
		return nil
	})
	if err != nil {
		if refreshed != nil {
			// The provider may already have retired the old refresh
			// token: keep the new one to write next time, but do not use
			// it before it is on disk.
			ts.mu.Lock()
			ts.unsaved, ts.from = refreshed, from
			ts.mu.Unlock()
		}
		return nil, ts.wrap(err)
	}
	ts.remember(out)
	return out.toOAuth2(), nil
}

// saveUnsaved writes a refreshed token whose first write failed, unless
// the file has moved on to another refresh token meanwhile.
func (ts *TokenSource) saveUnsaved() error {
	ts.mu.Lock()
	n, from := ts.unsaved, ts.from
	ts.mu.Unlock()
	_, err := ts.t.st.Update(ts.ctx, func(f *file) error {
		s := f.Accounts[ts.account]
		if s == nil || s.RefreshToken != from {
			n = nil
			return store.ErrNoChange
		}
		f.Accounts[ts.account] = n.clone()
		return nil
	})
	if err != nil {
		return ts.wrap(err)
	}
	ts.mu.Lock()
	ts.unsaved = nil
	if n != nil {
		ts.cur = n
	}
	ts.mu.Unlock()
	return nil
}

func (ts *TokenSource) remember(s *stored) {
	ts.mu.Lock()
	ts.cur = s.clone()
	ts.mu.Unlock()
}

// refresh asks the token endpoint for a new token with s's refresh token.
func (ts *TokenSource) refresh(s *stored) (*stored, error) {
	src := ts.cfg.TokenSource(ts.ctx, &oauth2.Token{RefreshToken: s.RefreshToken})
	tok, err := src.Token()
	if err != nil {
		return nil, refreshError(ts.account, err, s)
	}
	n := fromOAuth2(tok)
	if n.RefreshToken == "" {
		n.RefreshToken = s.RefreshToken // the provider does not rotate it
	}
	return n, nil
}

func (ts *TokenSource) wrap(err error) error {
	var re *RefreshError
	if errors.As(err, &re) {
		return err
	}
	return fmt.Errorf("oauth: token for %q in %s: %w", ts.account, ts.t.path, err)
}

// RefreshError reports a failed refresh. It carries what the token
// endpoint said, never the tokens or the raw response.
type RefreshError struct {
	Account     string
	Status      int    // HTTP status of the token endpoint's answer, 0 if none
	Code        string // the OAuth error code, such as "invalid_grant"
	Description string // the endpoint's error_description, tokens masked
	Err         error  // a transport error, tokens masked
	reauth      bool
}

func (e *RefreshError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "oauth: refreshing the token for %q", e.Account)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.reauth {
		b.WriteString(" (sign in again)")
	}
	return b.String()
}

func (e *RefreshError) Unwrap() []error {
	var errs []error
	if e.reauth {
		errs = append(errs, ErrReauth)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// refreshError turns what oauth2 returned into a RefreshError without the
// response body (which may echo what was sent) and with the tokens masked.
func refreshError(account string, err error, s *stored) error {
	mask := strings.NewReplacer(s.RefreshToken, "[token]", s.AccessToken, "[token]")
	if s.AccessToken == "" {
		mask = strings.NewReplacer(s.RefreshToken, "[token]")
	}
	re := &RefreshError{Account: account}
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) {
		if rerr.Response != nil {
			re.Status = rerr.Response.StatusCode
		}
		re.Code = mask.Replace(rerr.ErrorCode)
		re.Description = mask.Replace(rerr.ErrorDescription)
		re.reauth = rerr.ErrorCode == "invalid_grant"
		if re.Code == "" && re.Status == 0 {
			re.Description = "the token endpoint's answer was not understood"
		}
		return re
	}
	if msg := err.Error(); mask.Replace(msg) != msg {
		re.Err = errors.New(mask.Replace(msg))
	} else {
		re.Err = err
	}
	return re
}

func fromOAuth2(t *oauth2.Token) *stored {
	s := &stored{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken, Expiry: t.Expiry.Round(0)}
	if v, ok := t.Extra("scope").(string); ok {
		s.Scope = v
	}
	if v, ok := t.Extra("id_token").(string); ok {
		s.IDToken = v
	}
	return s
}

func (s *stored) toOAuth2() *oauth2.Token {
	t := &oauth2.Token{AccessToken: s.AccessToken, TokenType: s.TokenType, RefreshToken: s.RefreshToken, Expiry: s.Expiry}
	extra := map[string]any{}
	if s.Scope != "" {
		extra["scope"] = s.Scope
	}
	if s.IDToken != "" {
		extra["id_token"] = s.IDToken
	}
	if len(extra) > 0 {
		t = t.WithExtra(extra)
	}
	return t
}

func (s *stored) clone() *stored {
	c := *s
	return &c
}
