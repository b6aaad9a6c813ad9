package oauth_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/durable-go/durable/oauth"
	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"

	"github.com/durable-go/durable/internal/testdir"
)

// tokenServer is an OAuth 2.0 token endpoint with refresh-token rotation:
// each refresh token works once; presenting a used one is invalid_grant.
// It counts refreshes, refused refreshes, and refreshes made before the
// client could have considered the access token expired.
type tokenServer struct {
	*httptest.Server
	lifetime time.Duration // expires_in it announces (whole seconds)
	early    time.Duration // how long after issue a refresh is justified

	// Set before the server starts (newTokenServerWith): arrived gets a
	// value for each request received (if there is room), gate holds
	// every request until it is closed, delay slows every answer.
	arrived chan struct{}
	gate    chan struct{}
	delay   time.Duration

	mu        sync.Mutex
	refresh   string // the one valid refresh token
	access    string // the newest access token
	issued    time.Time
	refreshes int
	invalid   int
	premature int
	echo      bool // echo the presented token in error descriptions
}

func newTokenServer(t *testing.T, lifetime, early time.Duration) *tokenServer {
	return newTokenServerWith(t, lifetime, early, nil)
}

// newTokenServerWith lets setup set the server's fields before it starts.
func newTokenServerWith(t *testing.T, lifetime, early time.Duration, setup func(*tokenServer)) *tokenServer {
	s := &tokenServer{lifetime: lifetime, early: early}
	if setup != nil {
		setup(s)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle)) // listens on 127.0.0.1
	t.Cleanup(s.Close)
	s.issue()
	return s
}

func secret(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// issue makes a new token pair; s.mu is held or not needed.
func (s *tokenServer) issue() {
	s.refresh, s.access, s.issued = secret("rt-"), secret("at-"), time.Now()
}

func (s *tokenServer) handle(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	if s.arrived != nil {
		select {
		case s.arrived <- struct{}{}:
		default:
		}
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-r.Context().Done():
			return // the client gave up
		}
	}
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Form.Get("grant_type") != "refresh_token" {
		w.WriteHeader(400)
		io.WriteString(w, `{"error":"unsupported_grant_type"}`)
		return
	}
	if got := r.Form.Get("refresh_token"); got != s.refresh {
		s.invalid++
		w.WriteHeader(400)
		desc := "refresh token already used"
		if s.echo {
			desc += ": " + got
		}
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": desc})
		return
	}
	if time.Since(s.issued) < s.early {
		s.premature++
	}
	s.refreshes++
	s.issue()
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": s.access, "token_type": "Bearer", "refresh_token": s.refresh,
		"expires_in": int(s.lifetime / time.Second), "scope": "read",
	})
}

func (s *tokenServer) current() *oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &oauth2.Token{AccessToken: s.access, RefreshToken: s.refresh, TokenType: "Bearer",
		Expiry: s.issued.Add(s.lifetime)}
}

func (s *tokenServer) config() *oauth2.Config {
	return &oauth2.Config{ClientID: "client", ClientSecret: "shh",
		Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

// The helper process: calls Token() n times, pausing between calls; then,
// told to finish, waits for the token to expire and takes one last token.
func TestTokenHelperProcess(t *testing.T) {
	path := os.Getenv("OAUTH_TEST_FILE")
	if path == "" {
		t.Skip("helper process for TestRefreshRaceProcesses")
	}
	n, _ := strconv.Atoi(os.Getenv("OAUTH_TEST_CALLS"))
	delta, _ := time.ParseDuration(os.Getenv("OAUTH_TEST_DELTA"))
	cfg := &oauth2.Config{ClientID: "client", ClientSecret: "shh",
		Endpoint: oauth2.Endpoint{TokenURL: os.Getenv("OAUTH_TEST_URL"), AuthStyle: oauth2.AuthStyleInParams}}
	ts, err := oauth.NewTokenSource(context.Background(), cfg, path, "acct", oauth.WithExpiryDelta(delta))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	errs := 0
	for range n {
		tok, err := ts.Token()
		if err != nil {
			errs++
			fmt.Println("error:", err)
		} else if !strings.HasPrefix(tok.AccessToken, "at-") {
			errs++
			fmt.Println("error: bad token")
		}
		time.Sleep(8 * time.Millisecond)
	}
	fmt.Println("looped")
	bufio.NewReader(os.Stdin).ReadString('\n')
	time.Sleep(time.Second) // past the token's life: everyone must find it expired
	tok, err := ts.Token()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Printf("final %s errors %d\n", hash(tok.AccessToken), errs)
}

func TestRefreshRaceProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 8 processes")
	}
	procs, calls := 8, 200
	if os.Getenv("CI") != "true" {
		calls = 80
	}
	// The server says expires_in 1 (whole seconds only); clients refresh
	// 700ms early, so the access token is good for ~300ms.
	const delta = 700 * time.Millisecond
	srv := newTokenServer(t, time.Second, time.Second-delta-5*time.Millisecond)
	path := filepath.Join(testdir.New(t), "tokens.json")
	toks, err := oauth.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := toks.Save(context.Background(), "acct", srv.current()); err != nil {
		t.Fatal(err)
	}
	type child struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		out   *lineBuffer
	}
	var children []child
	start := time.Now()
	for range procs {
		cmd := testdir.Command("TestTokenHelperProcess", "OAUTH_TEST_FILE="+path, "OAUTH_TEST_URL="+srv.URL+"/token",
			"OAUTH_TEST_CALLS="+strconv.Itoa(calls), "OAUTH_TEST_DELTA="+delta.String())
		in, _ := cmd.StdinPipe()
		out := &lineBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		children = append(children, child{cmd, in, out})
	}
	for _, c := range children {
		if !c.out.waitFor("looped", 60*time.Second) {
			t.Fatalf("a child did not finish its calls:\n%s", c.out)
		}
	}
	loop := time.Since(start)
	srv.mu.Lock()
	during := srv.refreshes
	srv.mu.Unlock()
	for _, c := range children {
		io.WriteString(c.stdin, "go\n")
	}
	for _, c := range children {
		if err := c.cmd.Wait(); err != nil {
			t.Errorf("child: %v\n%s", err, c.out)
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	newest := hash(srv.access)
	for _, c := range children {
		var final string
		var errs int
		if _, err := fmt.Sscanf(c.out.last(), "final %s errors %d", &final, &errs); err != nil {
			t.Fatalf("child output: %q", c.out)
		}
		if errs != 0 {
			t.Errorf("a child got %d errors:\n%s", errs, c.out)
		}
		if final != newest {
			t.Errorf("a child ended with token %s, the newest is %s", final, newest)
		}
	}
	if srv.invalid != 0 {
		t.Errorf("the server refused %d refreshes with invalid_grant: a used refresh token was presented", srv.invalid)
	}
	if srv.premature != 0 {
		t.Errorf("%d refreshes came before the token could be considered expired: more than one refresh per expiry", srv.premature)
	}
	// Each refresh rotated the one valid refresh token, none was early and
	// none was refused: so there was exactly one refresh per expiry. The
	// run must have seen several.
	maxExpiries := int(loop/(time.Second-delta)) + 1
	if during < 2 || during > maxExpiries {
		t.Errorf("%d refreshes in %v with tokens good for %v; want between 2 and %d", during, loop.Round(time.Millisecond), time.Second-delta, maxExpiries)
	}
	t.Logf("%d processes x %d calls in %v: %d refreshes (%d possible expiries), 0 invalid_grant, all ended with the newest token",
		procs, calls, loop.Round(time.Millisecond), during, maxExpiries)
}

type lineBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lineBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lineBuffer) waitFor(line string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(l.String(), line+"\n") {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

func (l *lineBuffer) last() string {
	for _, line := range reverse(strings.Split(l.String(), "\n")) {
		if strings.HasPrefix(line, "final ") {
			return line
		}
	}
	return ""
}

func reverse(s []string) []string {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
	return s
}

// Goroutines of one process share refreshes the same way.
func TestRefreshRaceGoroutines(t *testing.T) {
	const delta = 700 * time.Millisecond
	srv := newTokenServer(t, time.Second, time.Second-delta-5*time.Millisecond)
	path := filepath.Join(testdir.New(t), "tokens.json")
	toks, _ := oauth.Open(path, oauth.WithExpiryDelta(delta))
	toks.Save(context.Background(), "acct", srv.current())
	var wg sync.WaitGroup
	var failures atomic.Int32
	for range 16 {
		// Separate sources, as separate parts of a program would have.
		ts := toks.TokenSource(context.Background(), srv.config(), "acct")
		wg.Go(func() {
			for range 60 {
				if _, err := ts.Token(); err != nil {
					failures.Add(1)
					t.Error(err)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.invalid != 0 || srv.premature != 0 || srv.refreshes < 1 {
		t.Fatalf("refreshes %d, invalid_grant %d, premature %d", srv.refreshes, srv.invalid, srv.premature)
	}
}

// flakyFS fails every rename while fail is set: a disk that refuses to
// publish anything.
type flakyFS struct {
	vfs.FS
	fail atomic.Bool
}

func (f *flakyFS) Rename(o, n string) error {
	if f.fail.Load() {
		return &os.LinkError{Op: "rename", Old: o, New: n, Err: syscall.EIO}
	}
	return f.FS.Rename(o, n)
}

// The refreshed token is on disk before Token returns it: when the write
// fails, Token fails and the new token is not used; the next call writes
// it (without a second refresh, which rotation would refuse) before
// handing it out.
func TestRefreshedTokenIsDurableBeforeUse(t *testing.T) {
	srv := newTokenServer(t, time.Hour, 0)
	m := vfs.NewMem()
	fs := &flakyFS{FS: m}
	toks, _ := oauth.Open("/tokens.json", oauth.WithFS(fs))
	expired := srv.current()
	expired.Expiry = time.Now().Add(-time.Minute)
	if err := toks.Save(context.Background(), "acct", expired); err != nil {
		t.Fatal(err)
	}
	ts := toks.TokenSource(context.Background(), srv.config(), "acct")
	fs.fail.Store(true)
	if tok, err := ts.Token(); err == nil || tok != nil {
		t.Fatalf("Token returned a token (%v) although it could not be written", err)
	}
	srv.mu.Lock()
	newest := srv.access
	srv.mu.Unlock()
	if srv.refreshes != 1 {
		t.Fatalf("refreshes = %d, want 1", srv.refreshes)
	}
	onDisk, _ := oauth.Open("/tokens.json", oauth.WithFS(m))
	if tok, _ := onDisk.Token("acct"); tok.AccessToken == newest {
		t.Fatal("the refreshed token is in the file although its write failed")
	}
	fs.fail.Store(false)
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != newest {
		t.Fatal("the token kept from the failed write was not the one used")
	}
	if tok, _ := onDisk.Token("acct"); tok.AccessToken != newest {
		t.Fatal("Token returned the refreshed token before it was in the file")
	}
	if srv.refreshes != 1 || srv.invalid != 0 {
		t.Fatalf("refreshes %d, invalid_grant %d: want the pending token written, not a second refresh", srv.refreshes, srv.invalid)
	}
}

func TestNoTokenInErrorsOrStrings(t *testing.T) {
	srv := newTokenServer(t, time.Second, 0)
	srv.echo = true
	path := filepath.Join(testdir.New(t), "tokens.json")
	toks, _ := oauth.Open(path)
	stale := &oauth2.Token{AccessToken: secret("at-stale-"), RefreshToken: secret("rt-stale-"), Expiry: time.Now().Add(-time.Hour)}
	toks.Save(context.Background(), "acct", stale)
	ts := toks.TokenSource(context.Background(), srv.config(), "acct")
	_, err := ts.Token()
	if err == nil {
		t.Fatal("a used refresh token was accepted")
	}
	if !errors.Is(err, oauth.ErrReauth) {
		t.Errorf("err = %v, want ErrReauth", err)
	}
	var re *oauth.RefreshError
	if !errors.As(err, &re) || re.Code != "invalid_grant" || re.Status != 400 {
		t.Errorf("err = %#v, want a RefreshError with invalid_grant and 400", err)
	}
	outputs := []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err),
		ts.String(), fmt.Sprint(ts), fmt.Sprintf("%#v", ts), fmt.Sprintf("%+v", ts), fmt.Sprint(toks), fmt.Sprintf("%#v", toks)}
	for _, s := range outputs {
		for _, tok := range []string{stale.AccessToken, stale.RefreshToken} {
			if strings.Contains(s, tok) {
				t.Errorf("output contains a token: %s", s)
			}
		}
	}
	if !strings.Contains(err.Error(), "[token]") {
		t.Errorf("the echoed token was not masked: %v", err)
	}
	// A transport error does not leak either.
	bad := &oauth2.Config{Endpoint: oauth2.Endpoint{TokenURL: "http://127.0.0.1:1/token?x=" + stale.RefreshToken}}
	_, err = toks.TokenSource(context.Background(), bad, "acct").Token()
	if err == nil || strings.Contains(err.Error(), stale.RefreshToken) {
		t.Errorf("transport error: %v", err)
	}
}

func TestAccountsSaveRemove(t *testing.T) {
	path := filepath.Join(testdir.New(t), "dir", "tokens.json")
	toks, err := oauth.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, a := range []string{"github", "gitlab", "google"} {
		tok := (&oauth2.Token{AccessToken: "a-" + a, RefreshToken: "r-" + a, Expiry: time.Now().Add(time.Hour)}).
			WithExtra(map[string]any{"id_token": "id-" + a, "scope": "s"})
		if err := toks.Save(ctx, a, tok); err != nil {
			t.Fatal(err)
		}
	}
	names, _ := toks.Accounts()
	if strings.Join(names, ",") != "github,gitlab,google" {
		t.Fatalf("accounts %v", names)
	}
	tok, err := toks.Token("gitlab")
	if err != nil || tok.AccessToken != "a-gitlab" || tok.Extra("id_token") != "id-gitlab" {
		t.Fatalf("gitlab: %v %v", tok, err)
	}
	if err := toks.Remove(ctx, "gitlab"); err != nil {
		t.Fatal(err)
	}
	if _, err := toks.Token("gitlab"); !errors.Is(err, oauth.ErrNoToken) {
		t.Fatalf("removed account: %v", err)
	}
	if err := toks.Remove(ctx, "gitlab"); err != nil {
		t.Fatalf("removing again: %v", err)
	}
	fi, _ := os.Stat(path)
	di, _ := os.Stat(filepath.Dir(path))
	if runtime.GOOS == "windows" {
		return // no Unix modes
	}
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("modes: file %v, dir %v", fi.Mode(), di.Mode())
	}
	// A file others can read is reported, and still works.
	os.Chmod(path, 0o644)
	var w warnings
	again, err := oauth.Open(path, oauth.OnWarning(w.add))
	if errs := w.take(); err != nil || again == nil || len(errs) != 1 || !errors.Is(errs[0], store.ErrInsecure) {
		t.Fatalf("open of a 0644 token file: %v, warned %v", err, errs)
	}
}
