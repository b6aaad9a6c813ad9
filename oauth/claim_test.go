package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/durable-go/durable/oauth"
	"github.com/durable-go/durable/vfs"

	"github.com/durable-go/durable/internal/testdir"
)

// Each account's refresh claim is a lock file of its own beside the token
// file, one path element whatever the account's name, recognised by
// IsRefreshLock, private, and (when root refreshes a user's tokens) the
// user's.
func TestRefreshLockFiles(t *testing.T) {
	srv := newTokenServer(t, time.Hour, 0)
	dir := testdir.New(t)
	path := filepath.Join(dir, "tokens.json")
	toks, _ := oauth.Open(path)
	ctx := context.Background()
	accounts := []string{"github", "../../etc/passwd", "a/b", "", "work\x00x"}
	for _, a := range accounts {
		if err := toks.Save(ctx, a, expired(srv.current())); err != nil {
			t.Fatal(err)
		}
		if _, err := toks.TokenSource(ctx, srv.config(), a).Token(); err != nil {
			t.Fatalf("account %q: %v", a, err)
		}
	}
	root := os.Geteuid() == 0 && runtime.GOOS != "windows"
	const uid, gid = 64123, 64124
	if root {
		// Root refreshes a token file that belongs to a user: the claim
		// it creates must not lock that user out.
		os.Chown(path, uid, gid)
		toks.Save(ctx, "user", expired(srv.current()))
		if _, err := toks.TokenSource(ctx, srv.config(), "user").Token(); err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, "user")
	}
	ents, _ := os.ReadDir(dir)
	var claims []string
	for _, e := range ents {
		if oauth.IsRefreshLock(e.Name()) {
			claims = append(claims, e.Name())
			fi, _ := e.Info()
			if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", e.Name(), fi.Mode())
			}
		}
	}
	if len(claims) != len(accounts) {
		t.Fatalf("refresh lock files %v for %d accounts", claims, len(accounts))
	}
	if root {
		h := sha256.Sum256([]byte("user"))
		name := filepath.Join(dir, "tokens.json.refresh-"+hex.EncodeToString(h[:8])+".lock")
		u, g, _ := vfs.Owner(mustInfo(t, name))
		if u != uid || g != gid {
			t.Errorf("root made %s owned by %d:%d, want the token file's %d:%d", filepath.Base(name), u, g, uid, gid)
		}
	}
	for _, name := range []string{"tokens.json", "tokens.json.lock", "tokens.json.bak.1", "x.refresh-0123456789abcdef",
		".refresh-0123456789abcdef.lock", "x.refresh-0123456789ABCDEF.lock", "x.refresh-0123456789abcde.lock"} {
		if oauth.IsRefreshLock(name) {
			t.Errorf("IsRefreshLock(%q) = true", name)
		}
	}
	if !slices.ContainsFunc(claims, func(n string) bool { return oauth.IsRefreshLock(filepath.Join(dir, n)) }) {
		t.Error("IsRefreshLock refuses a full path")
	}
}

func mustInfo(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}
