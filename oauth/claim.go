package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// refreshLockInfix and the account's hash name an account's refresh claim:
// "tokens.json" + ".refresh-" + 16 hex digits, plus lock.Suffix for its
// lock file. The hash keeps any account name a single, short path element.
const refreshLockInfix = ".refresh-"

// claimSlack is how much longer than the refresh timeout a caller without
// a deadline waits for another's refresh: that refresh's own write.
const claimSlack = 10 * time.Second

// refreshLockName is the name whose lock (name + lock.Suffix) is the claim
// on account's refresh, beside target, the token file past any links.
func refreshLockName(target, account string) string {
	h := sha256.Sum256([]byte(account))
	return target + refreshLockInfix + hex.EncodeToString(h[:8])
}

// IsRefreshLock reports whether name (a file name, with or without its
// directory) is the lock file of an account's refresh claim, which oauth
// creates beside a token file, "name.refresh-<hash>.lock". Like every lock
// file, it is never removed, as someone may be about to lock it.
func IsRefreshLock(name string) bool {
	base := filepath.Base(name)
	rest, ok := strings.CutSuffix(base, lock.Suffix)
	if !ok {
		return false
	}
	i := strings.LastIndex(rest, refreshLockInfix)
	if i <= 0 {
		return false
	}
	h := rest[i+len(refreshLockInfix):]
	if len(h) != 16 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}

// claim takes account's refresh claim: a lock on a sidecar of its own,
// not the file's lock, so that holding it across the request to the token
// endpoint stops nobody but those who want to refresh the same account.
// It waits until ctx is done (or, without a deadline, the refresh timeout
// and claimSlack). release may be called more than once; check tells
// whether the claim is still held (see Backend).
func (t *Tokens) claim(ctx context.Context, account string) (release func(), check func(context.Context) error, err error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.o.timeout+claimSlack)
		defer cancel()
	}
	if t.o.backend != nil {
		h, err := t.o.backend.Claim(ctx, account)
		if err != nil {
			return nil, nil, fmt.Errorf("waiting for another refresh of this account: %w", err)
		}
		var once sync.Once
		return func() { once.Do(func() { h.Unlock() }) }, h.Check, nil
	}
	fsys := t.fsys()
	target, err := resolve(fsys, t.path)
	if err != nil {
		return nil, nil, err
	}
	name := refreshLockName(target, account)
	if err := ensureLockFile(fsys, target, name+lock.Suffix); err != nil {
		return nil, nil, err
	}
	m := lock.New(fsys, name)
	h, err := m.Lock(ctx)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("waiting for another refresh of this account: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			h.Unlock()
			m.Close()
		})
	}, h.Check, nil
}

// ensureLockFile creates the claim's lock file if it is missing, before
// package lock would create it for root with root as its owner: it gets
// the token file's owner and group, so that root's refresh of a user's
// tokens never locks that user out of their own refreshes. Off the real
// filesystem no lock file is used.
func ensureLockFile(fsys vfs.FS, target, path string) error {
	if _, ok := fsys.(vfs.OS); !ok {
		return nil
	}
	if _, err := fsys.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil // there (or not ours to judge): the lock opens it
	}
	data, err := fsys.Stat(target)
	if err != nil {
		return nil
	}
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|openNoFollow, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil // made meanwhile by another process
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if uid, gid, ok := vfs.Owner(data); ok && os.Geteuid() == 0 {
		if err := f.Chown(uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// newClient is the client for refreshes when the context brings none:
// http.DefaultClient has no timeout at all, so a token endpoint that
// never answers would hold the refresh forever.
func newClient(timeout time.Duration) *http.Client {
	c := &http.Client{Timeout: timeout}
	if tr, ok := http.DefaultTransport.(*http.Transport); ok {
		tr = tr.Clone()
		if tr.TLSHandshakeTimeout == 0 || tr.TLSHandshakeTimeout > timeout {
			tr.TLSHandshakeTimeout = timeout
		}
		if tr.ResponseHeaderTimeout == 0 || tr.ResponseHeaderTimeout > timeout {
			tr.ResponseHeaderTimeout = timeout
		}
		c.Transport = tr
	}
	return c
}

// withClient gives ctx the *http.Client for the token endpoint: its own,
// else the one in def (the TokenSource's context), else Tokens' client
// with timeouts.
func (t *Tokens) withClient(ctx, def context.Context) context.Context {
	if _, ok := ctx.Value(oauth2.HTTPClient).(*http.Client); ok {
		return ctx
	}
	if c, ok := def.Value(oauth2.HTTPClient).(*http.Client); ok {
		return context.WithValue(ctx, oauth2.HTTPClient, c)
	}
	return context.WithValue(ctx, oauth2.HTTPClient, t.client)
}
