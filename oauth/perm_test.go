package oauth_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/durable-go/durable/oauth"
	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"

	"github.com/durable-go/durable/internal/testdir"
)

// warnings collects what OnWarning is told.
type warnings struct {
	mu   sync.Mutex
	errs []error
}

func (w *warnings) add(err error) {
	w.mu.Lock()
	w.errs = append(w.errs, err)
	w.mu.Unlock()
}

func (w *warnings) take() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	errs := w.errs
	w.errs = nil
	return errs
}

func skipNoModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits: token files are not narrowed or refused there (package doc)")
	}
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// Open narrows a token file that group or others can access, whatever
// bits they have, and reports it as a warning.
func TestOpenNarrowsReadableFile(t *testing.T) {
	skipNoModes(t)
	for _, wide := range []fs.FileMode{0o644, 0o640, 0o604, 0o660, 0o666, 0o620, 0o700 | 0o055} {
		path := filepath.Join(testdir.New(t), "tokens.json")
		toks, _ := oauth.Open(path)
		if err := toks.Save(context.Background(), "acct", &oauth2.Token{AccessToken: "at-1", RefreshToken: "rt-1"}); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, wide); err != nil {
			t.Fatal(err)
		}
		var w warnings
		again, err := oauth.Open(path, oauth.OnWarning(w.add))
		if err != nil || again == nil {
			t.Fatalf("Open of a %#o token file failed: %v", wide, err)
		}
		errs := w.take()
		var ne *oauth.NarrowedError
		if len(errs) != 1 || !errors.As(errs[0], &ne) || !errors.Is(errs[0], store.ErrInsecure) {
			t.Fatalf("Open of a %#o token file told OnWarning %v, want one NarrowedError", wide, errs)
		}
		want := wide &^ 0o077
		if ne.From != wide || ne.To != want || ne.Path != path {
			t.Errorf("narrowed %#o to %#o, want %#o to %#o", ne.From, ne.To, wide, want)
		}
		if got := mode(t, path); got != want {
			t.Errorf("a %#o file is %#o after Open, want %#o", wide, got, want)
		}
		if tok, err := again.Token("acct"); err != nil || tok.AccessToken != "at-1" {
			t.Errorf("token after narrowing: %v", err)
		}
		// Narrowed once: opening again says nothing.
		if _, err := oauth.Open(path); err != nil {
			t.Errorf("Open of the narrowed file: %v", err)
		}
	}
}

// A file that becomes readable by others after Open is narrowed before
// any new secret is written into it, by every kind of write, and the
// narrowing reaches the OnWarning function.
func TestWritesNarrowFirst(t *testing.T) {
	skipNoModes(t)
	srv := newTokenServer(t, time.Hour, 0)
	ctx := context.Background()
	writes := map[string]func(*oauth.Tokens) error{
		"Save": func(toks *oauth.Tokens) error {
			return toks.Save(ctx, "acct", &oauth2.Token{AccessToken: "at-new", RefreshToken: "rt-new"})
		},
		"Remove": func(toks *oauth.Tokens) error { return toks.Remove(ctx, "other") },
		"refresh": func(toks *oauth.Tokens) error {
			_, err := toks.TokenSource(ctx, srv.config(), "acct").Token()
			return err
		},
	}
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			var w warnings
			toks, path := expiredAccount(t, srv, oauth.OnWarning(w.add))
			toks.Save(ctx, "other", &oauth2.Token{AccessToken: "at-other"})
			os.Chmod(path, 0o644)
			before, _ := os.ReadFile(path)
			if err := write(toks); err != nil {
				t.Fatal(err)
			}
			after, _ := os.ReadFile(path)
			if bytes.Equal(before, after) {
				t.Fatal("nothing was written")
			}
			for _, p := range []string{path, path + ".bak.1"} {
				if got := mode(t, p); got != 0o600 {
					t.Errorf("%s is %#o after %s, want 0600", filepath.Base(p), got, name)
				}
			}
			errs := w.take()
			var ne *oauth.NarrowedError
			if len(errs) != 1 || !errors.As(errs[0], &ne) || ne.From != 0o644 || ne.To != 0o600 {
				t.Fatalf("warnings %v, want one NarrowedError from 0644 to 0600", errs)
			}
		})
	}
}

// Reads report what they find through OnWarning too, after narrowing:
// Token, Accounts and TokenSource.Token all see it.
func TestReadsWarnThroughHook(t *testing.T) {
	skipNoModes(t)
	srv := newTokenServer(t, time.Hour, 0)
	ctx := context.Background()
	var w warnings
	toks, path := expiredAccount(t, srv, oauth.OnWarning(w.add))
	reads := map[string]func() error{
		"Token":    func() error { _, err := toks.Token("acct"); return err },
		"Accounts": func() error { _, err := toks.Accounts(); return err },
		"TokenSource.Token": func() error {
			_, err := toks.TokenSource(ctx, srv.config(), "acct").Token()
			return err
		},
	}
	for name, read := range reads {
		os.Chmod(path, 0o640)
		if err := read(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		errs := w.take()
		var ne *oauth.NarrowedError
		if len(errs) == 0 || !errors.As(errs[0], &ne) {
			t.Errorf("%s on a 0640 file: warnings %v, want a NarrowedError", name, errs)
		}
		if got := mode(t, path); got != 0o600 {
			t.Errorf("%s left the file %#o", name, got)
		}
	}
}

// noChmod fails every chmod of one file, as for a file its user does not
// own: the file cannot be narrowed.
type noChmod struct {
	vfs.FS
	name string
}

func (n *noChmod) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := n.FS.OpenFile(name, flag, perm)
	if err != nil || name != n.name {
		return f, err
	}
	return chmodless{f}, nil
}

type chmodless struct{ vfs.File }

func (f chmodless) Chmod(fs.FileMode) error {
	return &fs.PathError{Op: "chmod", Path: f.Name(), Err: syscall.EPERM}
}

// A file that cannot be narrowed is reported, read, and never written:
// no Save, no Remove, and no refresh (which would spend the refresh token
// on a token it could not keep).
func TestRefusesWhatCannotBeNarrowed(t *testing.T) {
	skipNoModes(t) // on Windows token files' modes are not checked (package doc)
	srv := newTokenServer(t, time.Hour, 0)
	ctx := context.Background()
	m := vfs.NewMem()
	const path = "/tokens.json"
	toks, _ := oauth.Open(path, oauth.WithFS(m))
	toks.Save(ctx, "acct", expired(srv.current()))
	f, _ := m.OpenFile(path, os.O_RDONLY, 0)
	f.Chmod(0o644)
	f.Close()
	before, _ := vfs.ReadFile(m, path)

	var w warnings
	fsys := &noChmod{FS: m, name: path}
	toks, err := oauth.Open(path, oauth.WithFS(fsys), oauth.OnWarning(w.add))
	if toks == nil || err != nil {
		t.Fatalf("Open of a file that cannot be narrowed failed: %v", err)
	}
	var ie *store.InsecureError
	if errs := w.take(); len(errs) != 1 || !errors.As(errs[0], &ie) {
		t.Errorf("Open told OnWarning %v, want an InsecureError", errs)
	}
	if tok, err := toks.Token("acct"); err != nil || tok.RefreshToken != srv.current().RefreshToken {
		t.Fatalf("reading it: %v", err)
	}
	if errs := w.take(); len(errs) != 1 || !errors.As(errs[0], &ie) {
		t.Errorf("reading it warned %v, want an InsecureError", errs)
	}
	refused := map[string]error{
		"Save":   toks.Save(ctx, "acct", &oauth2.Token{AccessToken: "at-new", RefreshToken: "rt-new"}),
		"Remove": toks.Remove(ctx, "acct"),
	}
	_, refused["refresh"] = toks.TokenSource(ctx, srv.config(), "acct").Token()
	for name, err := range refused {
		if !errors.Is(err, store.ErrInsecure) || !errors.Is(err, syscall.EPERM) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s into a file others can read: %v, want a refusal wrapping store.ErrInsecure and the cause", name, err)
		}
	}
	if after, _ := vfs.ReadFile(m, path); !bytes.Equal(before, after) {
		t.Error("the file was written")
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.refreshes != 0 {
		t.Errorf("%d refreshes: the refresh token was spent on a token that could not be kept", srv.refreshes)
	}
}

// A corrupt file recovered from its backup is reported to OnWarning by
// TokenSource.Token, which still answers.
func TestRecoveryWarnsThroughHook(t *testing.T) {
	ctx := context.Background()
	m := vfs.NewMem()
	var w warnings
	toks, _ := oauth.Open("/tokens.json", oauth.WithFS(m), oauth.OnWarning(w.add))
	good := &oauth2.Token{AccessToken: "at-good", Expiry: time.Now().Add(time.Hour)}
	toks.Save(ctx, "acct", good)
	toks.Save(ctx, "other", &oauth2.Token{AccessToken: "at-other"}) // the backup holds acct
	vfs.WriteFile(m, "/tokens.json", []byte(`{"accounts": {"acct": {"access_tok`), 0o600)
	tok, err := toks.TokenSource(ctx, nil, "acct").Token()
	if err != nil || tok.AccessToken != "at-good" {
		t.Fatalf("token from a recovered file: %v", err)
	}
	var re *store.RecoveredError
	if errs := w.take(); len(errs) != 1 || !errors.As(errs[0], &re) {
		t.Fatalf("warnings %v, want a RecoveredError", errs)
	}
}

// Without OnWarning, warnings go to the standard logger rather than
// nowhere.
func TestWarningsLoggedByDefault(t *testing.T) {
	skipNoModes(t)
	var buf bytes.Buffer
	var mu sync.Mutex
	log.SetOutput(writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) }))
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	path := filepath.Join(testdir.New(t), "tokens.json")
	toks, _ := oauth.Open(path)
	toks.Save(context.Background(), "acct", &oauth2.Token{AccessToken: "at-1"})
	os.Chmod(path, 0o644)
	if _, err := toks.Token("acct"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "narrowed to 0600") || !strings.Contains(buf.String(), path) {
		t.Fatalf("logged %q, want the narrowing reported", buf.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
