package oauth_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/durable-go/durable/oauth"

	"github.com/durable-go/durable/internal/testdir"
)

// The helper process for the claim tests: for each line "go" on stdin it
// takes a token for "acct" from a new TokenSource (so nothing is cached)
// and prints "token <hash>" or "error <message>".
func TestClaimHelperProcess(t *testing.T) {
	path := os.Getenv("OAUTH_CLAIM_FILE")
	if path == "" {
		t.Skip("helper process for the multi-process claim tests")
	}
	cfg := &oauth2.Config{ClientID: "client", ClientSecret: "shh",
		Endpoint: oauth2.Endpoint{TokenURL: os.Getenv("OAUTH_CLAIM_URL"), AuthStyle: oauth2.AuthStyleInParams}}
	toks, err := oauth.Open(path, oauth.WithRefreshTimeout(time.Minute))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		tok, err := toks.TokenSource(context.Background(), cfg, "acct").Token()
		if err != nil {
			fmt.Println("error", strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		fmt.Println("token", hash(tok.AccessToken))
	}
}

type claimChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *lineBuffer
}

func startClaimChildren(t *testing.T, n int, path, url string) []claimChild {
	t.Helper()
	var children []claimChild
	for range n {
		cmd := testdir.Command("TestClaimHelperProcess", "OAUTH_CLAIM_FILE="+path, "OAUTH_CLAIM_URL="+url)
		in, _ := cmd.StdinPipe()
		out := &lineBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c := claimChild{cmd, in, out}
		t.Cleanup(func() {
			c.stdin.Close()
			done := make(chan struct{})
			go func() { c.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				c.cmd.Process.Kill()
				<-done
			}
		})
		children = append(children, c)
	}
	for _, c := range children {
		if !c.out.waitFor("ready", 60*time.Second) {
			t.Fatalf("a child did not start:\n%s", c.out)
		}
	}
	return children
}

// answers waits for the k-th answer ("token …" or "error …") of c.
func (c claimChild) answer(t *testing.T, k int) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var got []string
		for _, line := range strings.Split(c.out.String(), "\n") {
			if strings.HasPrefix(line, "token ") || strings.HasPrefix(line, "error ") {
				got = append(got, line)
			}
		}
		if len(got) >= k {
			return got[k-1]
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no answer %d from a child:\n%s", k, c.out)
	return ""
}

// Processes that all find the token expired at the same moment, with a
// slow endpoint that rotates refresh tokens, refresh it once between them:
// the refresh claim is shared across processes, though the file's lock is
// not held across the request. Counted at the server.
func TestConcurrentRefreshProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 6 processes")
	}
	srv := newTokenServerWith(t, time.Hour, 0, func(s *tokenServer) { s.delay = 150 * time.Millisecond })
	path := filepath.Join(testdir.New(t), "tokens.json")
	toks, err := oauth.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	children := startClaimChildren(t, 6, path, srv.URL+"/token")
	ctx := context.Background()
	const rounds = 4
	for round := 1; round <= rounds; round++ {
		if err := toks.Save(ctx, "acct", expired(srv.current())); err != nil {
			t.Fatal(err)
		}
		for _, c := range children {
			io.WriteString(c.stdin, "go\n")
		}
		var answers []string
		for _, c := range children {
			answers = append(answers, c.answer(t, round))
		}
		srv.mu.Lock()
		refreshes, invalid, newest := srv.refreshes, srv.invalid, hash(srv.access)
		srv.mu.Unlock()
		if refreshes != round || invalid != 0 {
			t.Fatalf("round %d: %d refreshes in all, %d refused with invalid_grant; want one per round and none refused\n%s",
				round, refreshes, invalid, strings.Join(answers, "\n"))
		}
		for _, a := range answers {
			if a != "token "+newest {
				t.Fatalf("round %d: a child answered %q, the newest token is %s", round, a, newest)
			}
		}
	}
	t.Logf("%d processes x %d rounds: %d refreshes, 0 refused", len(children), rounds, rounds)
}

// A process stuck on a hung token endpoint holds up no other process:
// saves of other accounts go on at once, and a caller for the same
// account waits no longer than its own deadline, without refreshing.
// When the endpoint answers, the stuck process writes the token and the
// others use it.
func TestHungEndpointOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	srv, arrived, release := hungServer(t)
	toks, path := expiredAccount(t, srv)
	ctx := context.Background()
	child := startClaimChildren(t, 1, path, srv.URL+"/token")[0]
	io.WriteString(child.stdin, "go\n")
	waitArrival(t, arrived)

	if _, err := within(t, "Save of another account", 500*time.Millisecond, func(ctx context.Context) error {
		return toks.Save(ctx, "other", &oauth2.Token{AccessToken: "at-other"})
	}); err != nil {
		t.Errorf("Save while another process's refresh hangs: %v", err)
	}
	took, err := within(t, "Token of the same account", 300*time.Millisecond, func(ctx context.Context) error {
		_, err := toks.TokenSource(ctx, srv.config(), "acct").Token()
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) || took < 250*time.Millisecond {
		t.Errorf("a caller for the account being refreshed elsewhere returned after %v with %v; want its own deadline", took, err)
	}
	if len(arrived) != 0 {
		t.Error("the refresh token was presented again while another process was refreshing it")
	}
	release()
	answer := child.answer(t, 1)
	srv.mu.Lock()
	newest := hash(srv.access)
	srv.mu.Unlock()
	if answer != "token "+newest {
		t.Fatalf("the child answered %q, want the newest token %s", answer, newest)
	}
	tok, err := toks.TokenSource(ctx, srv.config(), "acct").Token()
	if err != nil || hash(tok.AccessToken) != newest {
		t.Fatalf("after the other process's refresh: %v", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.refreshes != 1 || srv.invalid != 0 {
		t.Fatalf("refreshes %d, invalid_grant %d; want exactly one refresh", srv.refreshes, srv.invalid)
	}
}
