// Package tokenserver is an OAuth 2.0 token endpoint on the loopback
// interface that rotates refresh tokens, as providers that revoke a
// token family do: each refresh token works once, and presenting a used
// one is refused with invalid_grant. The crash demo and the tests of the
// PostgreSQL token store refresh against it.
package tokenserver

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// A Server is a running token endpoint.
type Server struct {
	// URL is the token endpoint, for oauth2.Endpoint.TokenURL.
	URL string

	srv      *httptest.Server
	lifetime time.Duration

	mu        sync.Mutex
	n         int    // token pairs issued
	refresh   string // the one refresh token accepted now
	access    string
	expiry    time.Time
	refreshes int
	refused   int
}

// Start starts an endpoint whose access tokens last lifetime, with a
// first token pair issued (see Current). Close it when done.
func Start(lifetime time.Duration) *Server {
	s := &Server{lifetime: lifetime}
	s.issue()
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	s.URL = s.srv.URL + "/token"
	return s
}

// Close stops the endpoint, waiting for the requests it is answering.
func (s *Server) Close() { s.srv.Close() }

// issue makes a new token pair; s.mu is held or not needed yet.
func (s *Server) issue() {
	s.n++
	s.refresh, s.access = fmt.Sprintf("refresh-%d-%x", s.n, rand.Uint64()), fmt.Sprintf("access-%d", s.n)
	s.expiry = time.Now().Add(s.lifetime)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Form.Get("grant_type") != "refresh_token" || r.Form.Get("refresh_token") != s.refresh {
		s.refused++
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"invalid_grant","error_description":"refresh token already used"}`)
		return
	}
	s.refreshes++
	s.issue()
	json.NewEncoder(w).Encode(map[string]any{"access_token": s.access, "token_type": "Bearer",
		"refresh_token": s.refresh, "expires_in": int(s.lifetime / time.Second)})
}

// Current is the token pair the endpoint issued last: its refresh token is
// the one it accepts now.
func (s *Server) Current() *oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &oauth2.Token{AccessToken: s.access, RefreshToken: s.refresh, TokenType: "Bearer", Expiry: s.expiry}
}

// Counts returns how many refreshes the endpoint granted and how many it
// refused (a refresh token spent twice, or another grant).
func (s *Server) Counts() (refreshes, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes, s.refused
}
