package pg

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/oauth"
)

// lossyTokens hands out refresh claims whose session an administrator
// ends at once, as a failover or pg_terminate_backend would.
type lossyTokens struct {
	oauth.Backend
	db   *DB
	name string
}

func (l lossyTokens) Claim(ctx context.Context, account string) (*lock.Held, error) {
	h, err := l.Backend.Claim(ctx, account)
	if err != nil {
		return nil, err
	}
	key := l.db.LockKey("oauth-refresh:" + l.name + "\x00" + account)
	if _, err := l.db.Pool().Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1", key); err != nil {
		return nil, err
	}
	select {
	case <-h.Lost():
	case <-time.After(10 * time.Second):
	}
	return h, nil
}

// A claim lost before the token endpoint is asked never spends the
// refresh token: another holder may be spending it.
func TestLostRefreshClaimNeverAsksTheProvider(t *testing.T) {
	db := openTest(t)
	srv := signedInLongAgo(t, db, time.Hour)
	cfg := &oauth2.Config{ClientID: "c", Endpoint: oauth2.Endpoint{TokenURL: srv.URL, AuthStyle: oauth2.AuthStyleInParams}}
	ts, err := oauth.NewTokenSource(ctxT(t), cfg, "", "acct", oauth.OnWarning(func(error) {}),
		oauth.WithBackend(lossyTokens{Backend: db.Tokens("fleet"), db: db, name: "fleet"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.Token()
	if err == nil || !strings.Contains(err.Error(), "claim was lost") {
		t.Fatalf("Token with a lost claim: %v", err)
	}
	if refreshes, refused := srv.Counts(); refreshes+refused != 0 {
		t.Fatalf("the provider was asked %d times with a lost claim", refreshes+refused)
	}
	// With a claim that holds, the refresh goes through once.
	ts2, _ := NewTokenSource(ctxT(t), db, cfg, "fleet", "acct", oauth.OnWarning(func(error) {}))
	tok, err := ts2.Token()
	if refreshes, _ := srv.Counts(); err != nil || tok.AccessToken != srv.Current().AccessToken || refreshes != 1 {
		t.Fatalf("refresh with a good claim: %v %v (%d refreshes)", tok, err, refreshes)
	}
}
