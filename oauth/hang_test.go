package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/durable-go/durable/oauth"

	"github.com/durable-go/durable/internal/testdir"
)

// hungServer is a token endpoint that holds every request until release
// is called (at the latest when the test ends).
func hungServer(t *testing.T) (srv *tokenServer, arrived chan struct{}, release func()) {
	gate := make(chan struct{})
	arrived = make(chan struct{}, 64)
	srv = newTokenServerWith(t, time.Hour, 0, func(s *tokenServer) { s.gate, s.arrived = gate, arrived })
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release) // before the server's Close, which waits for its requests
	return srv, arrived, release
}

func expired(tok *oauth2.Token) *oauth2.Token {
	c := *tok
	c.Expiry = time.Now().Add(-time.Minute)
	return &c
}

// expiredAccount opens a token file of its own, with opts, holding the
// account "acct" with a token srv issued that has expired: its next use
// refreshes.
func expiredAccount(t *testing.T, srv *tokenServer, opts ...oauth.Option) (*oauth.Tokens, string) {
	t.Helper()
	path := filepath.Join(testdir.New(t), "tokens.json")
	toks, err := oauth.Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := toks.Save(context.Background(), "acct", expired(srv.current())); err != nil {
		t.Fatal(err)
	}
	return toks, path
}

func waitArrival(t *testing.T, arrived <-chan struct{}) {
	t.Helper()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the token endpoint got no request")
	}
}

// within runs f with a context whose deadline is d, and fails the test
// unless f returns within d plus scheduling slack (generous: CI runs every
// package at once under the race detector; what this catches is a wait
// for the hung endpoint, which lasts until the test releases it).
func within(t *testing.T, what string, d time.Duration, f func(ctx context.Context) error) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	took := time.Since(start)
	t.Logf("%s: %v (deadline %v): %v", what, took.Round(time.Millisecond), d, err)
	if took > d+2*time.Second {
		t.Errorf("%s took %v with a deadline of %v", what, took.Round(time.Millisecond), d)
	}
	return took, err
}

// A token endpoint that hangs holds up only those who need a new token for
// that very account, each no longer than its own context allows: the
// file's lock is not held across the request, so saves, removals, other
// accounts (valid or refreshed elsewhere) go on at once.
func TestHungEndpointHoldsNoLock(t *testing.T) {
	srv, arrived, release := hungServer(t)
	good := newTokenServer(t, time.Hour, 0)
	path := filepath.Join(testdir.New(t), "tokens.json")
	toks, err := oauth.Open(path, oauth.WithRefreshTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for account, tok := range map[string]*oauth2.Token{
		"hung":  expired(srv.current()),
		"other": expired(good.current()),
		"valid": {AccessToken: "at-valid", RefreshToken: "rt-valid", Expiry: time.Now().Add(time.Hour)},
		"gone":  {AccessToken: "at-gone", Expiry: time.Now().Add(time.Hour)},
	} {
		if err := toks.Save(ctx, account, tok); err != nil {
			t.Fatal(err)
		}
	}

	// The first caller for "hung" starts the refresh, and its context
	// ends long before the endpoint answers.
	holder := toks.TokenSource(ctx, srv.config(), "hung")
	held := make(chan error, 1)
	hctx, hcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer hcancel()
	hstart := time.Now()
	go func() {
		_, err := holder.TokenContext(hctx)
		held <- err
	}()
	waitArrival(t, arrived)

	const deadline = 500 * time.Millisecond
	if _, err := within(t, "Save of another account", deadline, func(ctx context.Context) error {
		return toks.Save(ctx, "new", &oauth2.Token{AccessToken: "at-new", RefreshToken: "rt-new"})
	}); err != nil {
		t.Errorf("Save of another account during a hung refresh: %v", err)
	}
	if _, err := within(t, "Remove of another account", deadline, func(ctx context.Context) error {
		return toks.Remove(ctx, "gone")
	}); err != nil {
		t.Errorf("Remove during a hung refresh: %v", err)
	}
	if _, err := within(t, "refresh of another account", deadline, func(ctx context.Context) error {
		_, err := toks.TokenSource(ctx, good.config(), "other").Token()
		return err
	}); err != nil {
		t.Errorf("refreshing another account during a hung refresh: %v", err)
	}
	if _, err := within(t, "Token of a valid account", deadline, func(ctx context.Context) error {
		_, err := toks.TokenSource(ctx, srv.config(), "valid").Token()
		return err
	}); err != nil {
		t.Errorf("a valid token during a hung refresh: %v", err)
	}
	// A second caller for the same account waits for the refresh in
	// progress, no longer than its own context allows, and does not
	// spend the refresh token a second time.
	took, err := within(t, "Token of the hung account", 300*time.Millisecond, func(ctx context.Context) error {
		_, err := toks.TokenSource(ctx, srv.config(), "hung").Token()
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) || took < 250*time.Millisecond {
		t.Errorf("a waiter for the hung account returned after %v with %v; want its own deadline", took, err)
	}
	select {
	case err := <-held:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("the refresh's caller got %v, want its context's deadline", err)
		}
		if took := time.Since(hstart); took > 3*time.Second {
			t.Errorf("the refresh's caller returned after %v with a 300ms deadline", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the refresh's caller did not return when its context ended")
	}
	if n := len(arrived); n != 0 {
		t.Errorf("%d more requests reached the hung endpoint: the refresh token was presented twice", n)
	}
	if names, _ := toks.Accounts(); len(names) != 4 {
		t.Errorf("accounts %v", names)
	}

	// The endpoint answers at last: the refresh its first caller gave up
	// on is written, and everyone gets that token without refreshing again.
	release()
	var got string
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(10 * time.Millisecond) {
		if tok, err := toks.Token("hung"); err == nil && tok.Expiry.After(time.Now()) {
			got = tok.AccessToken
			break
		}
	}
	srv.mu.Lock()
	newest, refreshes, invalid := srv.access, srv.refreshes, srv.invalid
	srv.mu.Unlock()
	if got != newest {
		t.Fatal("the token refreshed in the background was not written")
	}
	for _, ts := range []*oauth.TokenSource{holder, toks.TokenSource(ctx, srv.config(), "hung")} {
		tok, err := ts.Token()
		if err != nil || tok.AccessToken != newest {
			t.Errorf("after the refresh: %v", err)
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if refreshes != 1 || srv.refreshes != 1 || invalid != 0 || srv.invalid != 0 {
		t.Errorf("refreshes %d, invalid_grant %d; want exactly one refresh", srv.refreshes, srv.invalid)
	}
}

// A refresh has a deadline of its own: a caller without one is not held
// forever by an endpoint that never answers, and nothing is left locked.
func TestRefreshTimeout(t *testing.T) {
	srv, arrived, _ := hungServer(t)
	const timeout = 300 * time.Millisecond
	toks, _ := expiredAccount(t, srv, oauth.WithRefreshTimeout(timeout))
	ctx := context.Background()
	for i := range 2 {
		start := time.Now()
		_, err := toks.TokenSource(ctx, srv.config(), "acct").Token()
		took := time.Since(start)
		if err == nil || errors.Is(err, oauth.ErrReauth) {
			t.Fatalf("attempt %d: err = %v, want a timeout", i, err)
		}
		if took < timeout-50*time.Millisecond || took > timeout+2*time.Second {
			t.Errorf("attempt %d: a hung refresh returned after %v with a refresh timeout of %v", i, took, timeout)
		}
		waitArrival(t, arrived) // each attempt asked again: the claim was released
	}
	if _, err := within(t, "Save after a timed-out refresh", 500*time.Millisecond, func(ctx context.Context) error {
		return toks.Save(ctx, "acct", srv.current())
	}); err != nil {
		t.Fatal(err)
	}
}

// countingTransport counts the requests it carries.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// A client the caller puts in the context is the one used, with the
// refresh timeout still bounding the request.
func TestRefreshUsesTheContextsClient(t *testing.T) {
	srv := newTokenServer(t, time.Hour, 0)
	toks, _ := expiredAccount(t, srv)
	ctx := context.Background()
	tr := &countingTransport{}
	cctx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: tr})
	if _, err := toks.TokenSource(cctx, srv.config(), "acct").Token(); err != nil {
		t.Fatal(err)
	}
	if tr.n.Load() != 1 {
		t.Fatalf("the context's client carried %d requests, want 1", tr.n.Load())
	}
	// Per call, too.
	toks.Save(ctx, "acct", expired(srv.current()))
	if _, err := toks.TokenSource(ctx, srv.config(), "acct").TokenContext(cctx); err != nil {
		t.Fatal(err)
	}
	if tr.n.Load() != 2 {
		t.Fatalf("TokenContext's client carried %d requests in all, want 2", tr.n.Load())
	}
}

// Goroutines that all find the token expired at once, through separate
// sources and with a slow endpoint, refresh it once.
func TestConcurrentRefreshOnce(t *testing.T) {
	srv := newTokenServerWith(t, time.Hour, 0, func(s *tokenServer) { s.delay = 100 * time.Millisecond })
	path := filepath.Join(testdir.New(t), "tokens.json")
	toks, _ := oauth.Open(path)
	ctx := context.Background()
	for round := 1; round <= 3; round++ {
		toks.Save(ctx, "acct", expired(srv.current()))
		var wg sync.WaitGroup
		got := make([]string, 12)
		for i := range got {
			ts := toks.TokenSource(ctx, srv.config(), "acct")
			wg.Go(func() {
				tok, err := ts.Token()
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = tok.AccessToken
			})
		}
		wg.Wait()
		srv.mu.Lock()
		refreshes, invalid, newest := srv.refreshes, srv.invalid, srv.access
		srv.mu.Unlock()
		if refreshes != round || invalid != 0 {
			t.Fatalf("round %d: %d refreshes in all, %d invalid_grant", round, refreshes, invalid)
		}
		for _, a := range got {
			if a != newest {
				t.Fatalf("round %d: a caller got another token than the newest", round)
			}
		}
	}
}

// A context that is done ends waits, not answers: a valid token is still
// handed out, and a refresh fails at once without reaching the endpoint.
func TestDoneContext(t *testing.T) {
	srv := newTokenServer(t, time.Hour, 0)
	path := filepath.Join(testdir.New(t), "tokens.json")
	toks, _ := oauth.Open(path)
	ctx := context.Background()
	toks.Save(ctx, "valid", &oauth2.Token{AccessToken: "at-valid", Expiry: time.Now().Add(time.Hour)})
	toks.Save(ctx, "expired", expired(srv.current()))
	done, cancel := context.WithCancel(ctx)
	cancel()
	if tok, err := toks.TokenSource(done, srv.config(), "valid").Token(); err != nil || tok.AccessToken != "at-valid" {
		t.Errorf("a valid token with a done context: %v", err)
	}
	if _, err := toks.TokenSource(done, srv.config(), "expired").Token(); !errors.Is(err, context.Canceled) {
		t.Errorf("a refresh with a cancelled context: %v, want context.Canceled", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.refreshes != 0 {
		t.Errorf("%d refreshes with a cancelled context", srv.refreshes)
	}
}

// The refreshed token is written only if the file still holds the refresh
// token that was spent (compare-and-set): a sign-in saved, or the account
// removed, while the endpoint was being asked wins over the refresh.
func TestRefreshComparesAndSets(t *testing.T) {
	signin := &oauth2.Token{AccessToken: "at-signin", RefreshToken: "rt-signin", Expiry: time.Now().Add(time.Hour)}
	for _, meanwhile := range []string{"save", "remove", "nothing"} {
		t.Run(meanwhile, func(t *testing.T) {
			srv, arrived, release := hungServer(t)
			toks, _ := expiredAccount(t, srv)
			ctx := context.Background()
			type answer struct {
				tok *oauth2.Token
				err error
			}
			got := make(chan answer, 1)
			go func() {
				tok, err := toks.TokenSource(ctx, srv.config(), "acct").Token()
				got <- answer{tok, err}
			}()
			waitArrival(t, arrived)
			switch meanwhile {
			case "save":
				if err := toks.Save(ctx, "acct", signin); err != nil {
					t.Fatal(err)
				}
			case "remove":
				if err := toks.Remove(ctx, "acct"); err != nil {
					t.Fatal(err)
				}
			}
			release()
			a := <-got
			srv.mu.Lock()
			refreshed := srv.access
			srv.mu.Unlock()
			stored, serr := toks.Token("acct")
			switch meanwhile {
			case "save":
				if a.err != nil || a.tok.AccessToken != "at-signin" || serr != nil || stored.AccessToken != "at-signin" {
					t.Errorf("a sign-in saved during the refresh: got %v, stored %v; want the sign-in's token, not the refreshed one", a.err, serr)
				}
			case "remove":
				if !errors.Is(a.err, oauth.ErrNoToken) || !errors.Is(serr, oauth.ErrNoToken) {
					t.Errorf("the account removed during the refresh: got %v, stored %v; want ErrNoToken", a.err, serr)
				}
			case "nothing":
				if a.err != nil || a.tok.AccessToken != refreshed || serr != nil || stored.AccessToken != refreshed {
					t.Errorf("got %v, stored %v; want the refreshed token", a.err, serr)
				}
			}
		})
	}
}

type panicTransport struct{}

func (panicTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("transport boom") }

// A panic during the refresh (here in the caller's own transport) is
// raised in the caller's goroutine, and leaves the account's claim free.
func TestRefreshPanic(t *testing.T) {
	srv := newTokenServer(t, time.Hour, 0)
	toks, _ := expiredAccount(t, srv)
	ctx := context.Background()
	pctx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: panicTransport{}})
	func() {
		defer func() {
			if p := recover(); p != "transport boom" {
				t.Errorf("recovered %v, want the transport's panic", p)
			}
		}()
		toks.TokenSource(pctx, srv.config(), "acct").Token()
	}()
	if _, err := within(t, "a refresh after a panic", 2*time.Second, func(ctx context.Context) error {
		_, err := toks.TokenSource(ctx, srv.config(), "acct").Token()
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
