package oauth_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/durable-go/durable/oauth"
)

func Example() {
	// A token endpoint that rotates refresh tokens.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"new-access","token_type":"Bearer","refresh_token":"new-refresh","expires_in":3600}`)
	}))
	defer srv.Close()
	cfg := &oauth2.Config{ClientID: "cli", Endpoint: oauth2.Endpoint{TokenURL: srv.URL}}

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tokens.json")
	ctx := context.Background()

	// After sign-in, keep the token (the file is 0600 in a 0700 directory).
	tokens, err := oauth.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	tokens.Save(ctx, "github", &oauth2.Token{AccessToken: "old-access", RefreshToken: "old-refresh",
		Expiry: time.Now().Add(-time.Minute)})

	// Any number of processes can use the same file: the expired token is
	// refreshed once, under the account's refresh claim (not the file's
	// lock), and written before it is used.
	ts, err := oauth.NewTokenSource(ctx, cfg, path, "github")
	if err != nil {
		log.Fatal(err)
	}
	client := oauth2.NewClient(ctx, ts) // an *http.Client that sends the token
	_ = client
	tok, err := ts.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("valid:", tok.Valid())
	// Neither String nor errors ever show a token.
	fmt.Println("token in String:", strings.Contains(ts.String(), tok.AccessToken))

	stored, _ := tokens.Token("github")
	fmt.Println("stored is the refreshed one:", stored.AccessToken == tok.AccessToken)
	// Output:
	// valid: true
	// token in String: false
	// stored is the refreshed one: true
}
