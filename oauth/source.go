package oauth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/store"
)

// NewTokenSource opens the token file at path and returns a TokenSource
// for account. ctx is the context of Token (see TokenContext): it bounds
// every wait, and may carry the *http.Client for the token endpoint (as
// with oauth2.Config.TokenSource, with oauth2.HTTPClient). Warnings go to
// the OnWarning function, as for Open; a non-nil error means it failed.
func NewTokenSource(ctx context.Context, cfg *oauth2.Config, path, account string, opts ...Option) (*TokenSource, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	t, err := open(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	return t.TokenSource(ctx, cfg, account), nil
}

// TokenSource returns a TokenSource for account, whose Token uses ctx
// (see TokenContext). It is safe for concurrent use.
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

// Token returns a valid token for the account, refreshing it if needed:
// it is TokenContext with the context the TokenSource was made with.
func (ts *TokenSource) Token() (*oauth2.Token, error) {
	return ts.TokenContext(ts.ctx)
}

// TokenContext returns a valid token for the account, refreshing it if
// needed. A refreshed token is on disk before it is returned.
//
// ctx bounds every wait: for the file's lock, for the account's refresh
// claim while another goroutine or process refreshes it, and for the
// token endpoint. Without a deadline, the waits are bounded by the
// refresh timeout (WithRefreshTimeout) and the lock's default. When ctx
// ends while the token endpoint is being asked, TokenContext returns
// ctx's error at once; the refresh goes on in the background, within the
// refresh timeout, and its token is written for the next call.
func (ts *TokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	if ctx == nil {
		ctx = ts.ctx
	}
	// A context that is done still gets a valid token it need not wait
	// for: only waits end with its error.
	ts.mu.Lock()
	cur, unsaved := ts.cur, ts.unsaved
	ts.mu.Unlock()
	if unsaved != nil {
		if err := ts.saveUnsaved(ctx); err != nil {
			return nil, err
		}
		ts.mu.Lock()
		cur = ts.cur
		ts.mu.Unlock()
	}
	if ts.valid(cur) {
		return cur.toOAuth2(), nil
	}
	// Another process may have refreshed it: look before claiming.
	f, err := ts.t.get(ctx)
	if err != nil {
		return nil, ts.wrap(err)
	}
	if s, err := ts.usable(f.Accounts[ts.account]); s != nil || err != nil {
		return s.public(), err
	}
	for range 3 {
		tok, again, err := ts.refreshClaimed(ctx)
		if !again {
			return tok, err
		}
	}
	return nil, ts.wrap(errors.New("the stored token kept changing while it was being refreshed"))
}

// usable returns s if it is valid, an error if it cannot be refreshed,
// and nil, nil if it must be refreshed.
func (ts *TokenSource) usable(s *stored) (*stored, error) {
	switch {
	case s == nil:
		return nil, fmt.Errorf("%w: %q in %s", ErrNoToken, ts.account, ts.t.path)
	case ts.valid(s):
		ts.remember(s)
		return s, nil
	case s.RefreshToken == "":
		return nil, &RefreshError{Account: ts.account, Description: "the access token expired and there is no refresh token", reauth: true}
	}
	return nil, nil
}

// refreshed is what a refresh running in the background tells the caller
// that started it: a token, an error, or neither when the file moved on
// meanwhile (a sign-in saved, the account removed).
type refreshed struct {
	tok      *stored
	err      error
	panicked any // a panic in the refresh (a custom RoundTripper's), re-raised in the caller
}

// refreshClaimed takes the account's refresh claim, and refreshes unless
// the holder before it did. again reports that the stored token changed
// during the refresh, whose result was then not kept: the caller starts
// over with what the file holds now.
func (ts *TokenSource) refreshClaimed(ctx context.Context) (tok *oauth2.Token, again bool, err error) {
	release, check, err := ts.t.claim(ctx, ts.account)
	if err != nil {
		return nil, false, ts.wrap(err)
	}
	// What the claim's last holder left: read after taking the claim.
	f, err := ts.t.get(ctx)
	if err != nil {
		release()
		return nil, false, ts.wrap(err)
	}
	s, err := ts.usable(f.Accounts[ts.account])
	if s != nil || err != nil {
		release()
		return s.public(), false, err
	}
	if ts.cfg == nil {
		release()
		return nil, false, ts.wrap(errors.New("the token expired and the TokenSource has no oauth2.Config to refresh it"))
	}
	if err := ts.t.writable(ctx); err != nil {
		release()
		return nil, false, ts.wrap(err)
	}
	s = f.Accounts[ts.account].clone()
	done := make(chan refreshed, 1)
	go ts.refreshHeld(ctx, s, release, check, done)
	select {
	case r := <-done:
		if r.panicked != nil {
			panic(r.panicked)
		}
		if r.err != nil {
			return nil, false, ts.wrap(r.err)
		}
		if r.tok == nil {
			return nil, true, nil
		}
		return r.tok.toOAuth2(), false, nil
	case <-ctx.Done():
		return nil, false, ts.wrap(fmt.Errorf("waiting for the token endpoint (the refresh goes on, and its token will be kept): %w", ctxErr(ctx)))
	}
}

// refreshHeld asks the token endpoint for a new token with s's refresh
// token, holding the account's claim (which it releases), and writes the
// result if the file still holds s's refresh token. It runs in its own
// goroutine and does not stop when the caller's context ends: the
// provider may have retired s's refresh token already, so the new one
// must reach the file. It is bounded by the refresh timeout instead.
func (ts *TokenSource) refreshHeld(ctx context.Context, s *stored, release func(), check func(context.Context) error, done chan<- refreshed) {
	defer release()
	defer func() {
		if p := recover(); p != nil {
			done <- refreshed{panicked: p}
		}
	}()
	bg := context.WithoutCancel(ctx) // keeps ctx's values: an oauth2.HTTPClient
	rctx, cancel := context.WithTimeout(bg, ts.t.o.timeout)
	// A claim held by a database session may have been lost (the session
	// ended): then another holder may be spending this refresh token now,
	// and spending it twice can revoke the whole token family.
	if err := check(rctx); err != nil {
		cancel()
		done <- refreshed{err: fmt.Errorf("the refresh claim was lost before the token endpoint was asked: %w", err)}
		return
	}
	n, err := ts.refresh(rctx, s)
	cancel()
	if err != nil {
		done <- refreshed{err: err}
		return
	}
	wctx, cancel := context.WithTimeout(bg, lock.DefaultTimeout)
	defer cancel()
	swapped, err := ts.t.swap(wctx, ts.account, s.RefreshToken, n)
	if err != nil {
		// Keep the new token to write next time, but do not use it
		// before it is on disk.
		ts.mu.Lock()
		ts.unsaved, ts.from = n, s.RefreshToken
		ts.mu.Unlock()
		done <- refreshed{err: err}
		return
	}
	if !swapped {
		done <- refreshed{}
		return
	}
	ts.remember(n)
	done <- refreshed{tok: n}
}

// swap writes n for account if the file still holds the refresh token n
// was obtained with (from), and reports whether it did.
func (t *Tokens) swap(ctx context.Context, account, from string, n *stored) (bool, error) {
	swapped := false
	err := t.update(ctx, func(f *file) error {
		swapped = false
		s := f.Accounts[account]
		if s == nil || s.RefreshToken != from {
			return store.ErrNoChange
		}
		f.Accounts[account] = n.clone()
		swapped = true
		return nil
	})
	return swapped && err == nil, err
}

// saveUnsaved writes a refreshed token whose first write failed, unless
// the file has moved on to another refresh token meanwhile.
func (ts *TokenSource) saveUnsaved(ctx context.Context) error {
	ts.mu.Lock()
	n, from := ts.unsaved, ts.from
	ts.mu.Unlock()
	if n == nil {
		return nil
	}
	swapped, err := ts.t.swap(ctx, ts.account, from, n)
	if err != nil {
		return ts.wrap(err)
	}
	ts.mu.Lock()
	if ts.unsaved == n {
		ts.unsaved = nil
	}
	if swapped {
		ts.cur = n.clone()
	}
	ts.mu.Unlock()
	return nil
}

// public is s as an oauth2.Token, nil for nil.
func (s *stored) public() *oauth2.Token {
	if s == nil {
		return nil
	}
	return s.toOAuth2()
}

func (ts *TokenSource) remember(s *stored) {
	ts.mu.Lock()
	ts.cur = s.clone()
	ts.mu.Unlock()
}

// refresh asks the token endpoint for a new token with s's refresh token.
func (ts *TokenSource) refresh(ctx context.Context, s *stored) (*stored, error) {
	ctx = ts.t.withClient(ctx, ts.ctx)
	src := ts.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: s.RefreshToken})
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

// ctxErr is ctx's error with the cause given to context.WithCancelCause.
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}
