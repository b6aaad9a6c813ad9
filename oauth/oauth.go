// Package oauth keeps OAuth 2.0 tokens in a file and refreshes them safely
// when several processes share them.
//
// NewTokenSource returns an oauth2.TokenSource backed by a store file that
// holds the tokens of several named accounts. When an account's access
// token has expired, the source claims the account's refresh (a lock on a
// sidecar of its own, see below), reads the file again, and refreshes only
// if the stored token is still expired: if another process refreshed
// meanwhile, it uses that token instead. So N processes that share one
// refresh token, with a provider that rotates refresh tokens (each works
// once), refresh once per expiry and all continue with the new token; none
// is left holding a refresh token that was already used. The refreshed
// token is written durably before it is returned or used, so a crash right
// after a refresh cannot lose the only valid refresh token.
//
// # No lock across the network
//
// The token endpoint is a server nobody here controls: it may hang. So the
// file's lock is never held while it is asked. The refresh runs holding
// only the account's refresh claim, the lock on the sidecar
// "name.refresh-<hash of the account>.lock" beside the file (see
// IsRefreshLock); its result is then written under the file's lock, and
// only if the stored refresh token is still the one that was spent (a
// compare-and-set: a sign-in saved meanwhile wins). A hung endpoint
// therefore delays only the callers that need a new token for that very
// account, and each of them waits no longer than its own context allows;
// Save, Remove, the other accounts and valid tokens are not held up, in
// this process or any other.
//
// Every refresh has a deadline: the caller's context bounds the wait for
// it, and the request itself gets WithRefreshTimeout (DefaultRefreshTimeout)
// and, unless the context carries an *http.Client (oauth2.HTTPClient), a
// client with timeouts. A caller whose context ends first gets its context's
// error at once; the refresh it started goes on in the background, bounded
// by the refresh timeout, and its token is written for the next call: the
// provider may already have retired the old refresh token, so the new one
// must not be dropped.
//
// # The file
//
// The file is a store document (see package store): JSON, mode 0o600 in a
// 0o700 directory, with a backup of the previous version. On Windows, where
// modes mean nothing, a new token file gets a protected DACL that names
// only the user who created it, and every replace keeps the DACL the file
// has (an administrator's tightened ACL survives refreshes):
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
// A token file that its group or others can read is narrowed, never used
// as it is: as soon as oauth finds such a file (when opening, reading or
// before writing it), it clears the group and other permission bits, under
// the file's lock and on the very file it checked, and reports it with a
// *NarrowedError (the tokens it held may have been read: consider revoking
// them). A file it cannot narrow (owned by someone else, on a read-only
// filesystem) is reported with a *store.InsecureError and is read but never
// written: Save, Remove and refreshes fail with an error wrapping
// store.ErrInsecure, so no new secret goes into a file others can read.
// Copies the store made before (name.bak.N, name.corrupt.*) keep their
// mode; "durable fsck --fix" narrows them. Unix modes only: on Windows
// nothing is checked.
//
// Warnings (a narrowed or insecure file, a corrupt file recovered from its
// backup) go to the function given with OnWarning (by default, the
// standard logger), whichever call finds them: Open, Token, TokenSource's
// Token, Save, Remove, Accounts. They never make a call fail, and no call
// returns them as its error: a non-nil error means the call failed.
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
	"log"
	"net/http"
	"slices"
	"strings"
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

// DefaultRefreshTimeout bounds one request to the token endpoint.
const DefaultRefreshTimeout = 30 * time.Second

// An Option configures Open and NewTokenSource. None is needed: without
// options the file is on the real filesystem, tokens are refreshed
// DefaultExpiryDelta early, a refresh gives up after DefaultRefreshTimeout
// and warnings go to the standard logger.
type Option func(*options)

type options struct {
	fs      vfs.FS
	delta   time.Duration
	timeout time.Duration
	warn    func(error)
	backend Backend // backend.go; nil: a file
}

// WithFS keeps the file on fsys (a vfs.MemFS in tests) instead of the OS.
func WithFS(fsys vfs.FS) Option { return func(o *options) { o.fs = fsys } }

// WithExpiryDelta refreshes tokens d before they expire (DefaultExpiryDelta
// by default).
func WithExpiryDelta(d time.Duration) Option { return func(o *options) { o.delta = d } }

// WithRefreshTimeout bounds each request to the token endpoint
// (DefaultRefreshTimeout by default; zero or less keeps the default).
func WithRefreshTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// OnWarning has fn told of each warning, Open's included: a token file
// that was narrowed (*NarrowedError) or could not be (*store.InsecureError),
// a corrupt file recovered from its backup (*store.RecoveredError). fn is
// called in the goroutine that found it and must not block for long. Nil
// (the default) logs them with the standard logger.
func OnWarning(fn func(error)) Option { return func(o *options) { o.warn = fn } }

// Tokens is a file of tokens, one per named account.
type Tokens struct {
	path   string
	st     *store.Store[file]
	o      options
	client *http.Client // for refreshes when the context brings none
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

// Open opens the token file at path (which need not exist yet). A file
// that group or others can read is narrowed at once (see the package doc)
// and reported to the OnWarning function as a *NarrowedError, or as a
// *store.InsecureError for a file that could not be narrowed
// (errors.Is(err, store.ErrInsecure) holds for both). A non-nil error
// means Open failed, and the Tokens are nil.
func Open(path string, opts ...Option) (*Tokens, error) {
	return open(context.Background(), path, opts)
}

func open(ctx context.Context, path string, opts []Option) (*Tokens, error) {
	o := options{delta: DefaultExpiryDelta}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.timeout <= 0 {
		o.timeout = DefaultRefreshTimeout
	}
	if o.warn == nil {
		o.warn = func(err error) { log.Printf("%v", err) }
	}
	sopts := &store.Options[file]{FS: o.fs, Secret: true}
	if o.backend != nil {
		sopts = &store.Options[file]{Backend: o.backend.Document()}
		path = sopts.Backend.Name()
	}
	st, err := store.Open(path, sopts)
	if err != nil {
		return nil, err
	}
	t := &Tokens{path: path, st: st, o: o, client: newClient(o.timeout)}
	t.tellWarnings(ctx)
	return t, nil
}

// tellWarnings hands what the store found while reading (a file open to
// others, a recovery from a backup) to the OnWarning function, after
// narrowing a file others can read.
func (t *Tokens) tellWarnings(ctx context.Context) {
	warns, _ := t.st.Warnings()
	if len(warns) == 0 {
		return
	}
	if err := t.fixWarnings(ctx, errors.Join(warns...)); err != nil {
		t.o.warn(err)
	}
}

func (t *Tokens) String() string   { return fmt.Sprintf("oauth.Tokens(%s)", t.path) }
func (t *Tokens) GoString() string { return t.String() }

// Save stores tok for account (after the user signs in), replacing any
// token it had, durably. ctx bounds the wait for the file's lock.
func (t *Tokens) Save(ctx context.Context, account string, tok *oauth2.Token) error {
	if tok == nil || tok.AccessToken == "" && tok.RefreshToken == "" {
		return fmt.Errorf("oauth: saving %q in %s: the token is empty", account, t.path)
	}
	s := fromOAuth2(tok)
	return t.update(ctx, func(f *file) error {
		if f.Accounts == nil {
			f.Accounts = map[string]*stored{}
		}
		f.Accounts[account] = s.clone()
		return nil
	})
}

// Token returns the token stored for account as it is, without
// refreshing it (ErrNoToken if there is none).
func (t *Tokens) Token(account string) (*oauth2.Token, error) {
	f, err := t.get(context.Background())
	if err != nil {
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
	return t.update(ctx, func(f *file) error {
		if _, ok := f.Accounts[account]; !ok {
			return store.ErrNoChange
		}
		delete(f.Accounts, account)
		return nil
	})
}

// Accounts lists the accounts that have a token, sorted.
func (t *Tokens) Accounts() ([]string, error) {
	f, err := t.get(context.Background())
	if err != nil {
		return nil, err
	}
	var names []string
	for name := range f.Accounts {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// get reads the file, handing warnings to the OnWarning function after
// narrowing a file others can read. ctx bounds the wait for the lock that
// narrowing takes.
func (t *Tokens) get(ctx context.Context) (file, error) {
	f, _, err := t.st.Get()
	if err != nil {
		return f, err
	}
	t.tellWarnings(ctx)
	return f, nil
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
