package tokenserver

import (
	"context"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// A refresh token works once: the second time it is refused, and the
// endpoint counts both.
func TestRefreshTokensRotate(t *testing.T) {
	s := Start(time.Hour)
	defer s.Close()
	cfg := &oauth2.Config{ClientID: "c", Endpoint: oauth2.Endpoint{TokenURL: s.URL, AuthStyle: oauth2.AuthStyleInParams}}
	first := s.Current()
	first.Expiry = time.Now().Add(-time.Minute)
	ctx := context.Background()
	tok, err := cfg.TokenSource(ctx, first).Token()
	if err != nil {
		t.Fatal(err)
	}
	if now := s.Current(); tok.AccessToken != now.AccessToken || tok.RefreshToken != now.RefreshToken || tok.RefreshToken == first.RefreshToken {
		t.Fatalf("refreshed to %+v, want the endpoint's new pair %+v", tok, now)
	}
	if _, err := cfg.TokenSource(ctx, first).Token(); err == nil {
		t.Fatal("a spent refresh token was accepted")
	}
	if refreshes, refused := s.Counts(); refreshes != 1 || refused != 1 {
		t.Fatalf("counted %d refreshes and %d refusals, want 1 and 1", refreshes, refused)
	}
}
