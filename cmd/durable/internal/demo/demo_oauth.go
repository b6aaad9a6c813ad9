package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/durable-go/durable/internal/tokenserver"
	"github.com/durable-go/durable/oauth"
)

// The oauth suite: several processes share one OAuth login whose refresh
// token rotates (each works once, as more and more providers do), and all
// keep calling for a valid access token while it expires every few hundred
// milliseconds. What programs do today (read the token file, refresh when
// it is about to expire, write it back) presents refresh tokens another
// process already used, and can leave a used one in the file: logged out
// for good. oauth.TokenSource must refresh once per expiry, be refused
// never, and leave every process with the newest token.

const (
	oauthProcs    = 4
	oauthCalls    = 120                    // Token calls per process and round
	oauthPause    = 20 * time.Millisecond  // the longest pause between calls
	oauthLifetime = time.Second            // expires_in the server announces (whole seconds only)
	oauthDelta    = 700 * time.Millisecond // refresh this early: the token is good for ~300ms
	oauthAccount  = "demo"
)

// OAuthCallsPerRound is how many times one round of the oauth phase asks
// each token keeper for a token, all processes together.
const OAuthCallsPerRound = oauthProcs * oauthCalls

func runOAuthClient(ctx context.Context, out io.Writer, c demoChild) error {
	pause := c.pauser()
	cfg := demoOAuthConfig(c.URL)
	token := func() (*oauth2.Token, error) { return naiveToken(ctx, cfg, c.Path) }
	if !c.Naive {
		ts, err := oauth.NewTokenSource(ctx, cfg, c.Path, oauthAccount, oauth.WithExpiryDelta(oauthDelta))
		if err != nil {
			return err
		}
		token = ts.Token
	}
	for range oauthCalls {
		_, err := token()
		var re *oauth2.RetrieveError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &re):
			fmt.Fprintf(out, "refused %s\n", re.ErrorCode)
		case errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF):
			// Read while another process was writing it.
			fmt.Fprintln(out, "torn")
		case err != nil:
			return err
		default:
			fmt.Fprintln(out, "ok")
		}
		pause(ctx)
	}
	return nil
}

func demoOAuthConfig(url string) *oauth2.Config {
	return &oauth2.Config{ClientID: "demo", ClientSecret: "demo",
		Endpoint: oauth2.Endpoint{TokenURL: url, AuthStyle: oauth2.AuthStyleInParams}}
}

// naiveToken is how programs keep a token today: read the file, refresh if
// the token is about to expire, write the file back.
func naiveToken(ctx context.Context, cfg *oauth2.Config, path string) (*oauth2.Token, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var tok oauth2.Token
	if err := json.Unmarshal(data, &tok); err != nil {
		return nil, err // torn by a writer in the middle of os.WriteFile
	}
	if time.Until(tok.Expiry) > oauthDelta {
		return &tok, nil
	}
	fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		return nil, err
	}
	data, err = json.Marshal(fresh)
	if err != nil {
		return nil, err
	}
	return fresh, os.WriteFile(path, data, 0o600)
}

// demoOAuthRow is one line of the OAuth table.
type demoOAuthRow struct {
	Writer    string `json:"writer"`
	Rounds    int    `json:"rounds"`
	Calls     int    `json:"calls"`
	Refreshes int    `json:"refreshes"`
	Refused   int    `json:"refused"`    // refreshes the server refused (invalid_grant)
	Torn      int    `json:"torn_reads"` // calls that found the token file torn or empty
	LoggedOut int    `json:"logged_out"` // rounds that ended with a used refresh token in the file
	MustHold  bool   `json:"must_hold"`
}

func (r demoOAuthRow) Violations() int { return r.Refused + r.Torn + r.LoggedOut }

type oauthWriter struct{ naive bool }

func (w oauthWriter) name() string {
	if w.naive {
		return "read, refresh, os.WriteFile"
	}
	return "oauth.TokenSource"
}

// oauthSuite returns the OAuth phases: no crash here, only processes
// racing to refresh one login.
func oauthSuite(d *demo) []demoPhase {
	if d.cfg.oauthRounds == 0 {
		d.note("oauth: skipped (--oauth-rounds 0)")
		return nil
	}
	var ps []demoPhase
	for _, w := range []oauthWriter{{naive: true}, {naive: false}} {
		label := fmt.Sprintf("%d processes %s", oauthProcs, w.name())
		ps = append(ps, demoPhase{
			kind: "race", label: label, writer: w.name(), mustHold: !w.naive, rounds: d.cfg.oauthRounds,
			runOAuth: func(d *demo, row *demoOAuthRow, progress func()) error {
				for i := 1; i <= d.cfg.oauthRounds; i++ {
					if err := d.oauthRound(w, i, row); err != nil {
						return err
					}
					progress()
				}
				return nil
			},
		})
	}
	return ps
}

// oauthRound runs oauthProcs clients against a fresh login until each has
// made oauthCalls calls, then checks the file holds the newest token.
func (d *demo) oauthRound(w oauthWriter, round int, row *demoOAuthRow) error {
	srv := tokenserver.Start(oauthLifetime)
	defer srv.Close()
	dir := filepath.Join(d.scratch, fmt.Sprintf("oauth-%t-%d", w.naive, round))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, "tokens.json")
	ctx := d.cli.ctx
	if w.naive {
		data, _ := json.Marshal(srv.Current())
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	} else {
		toks, err := oauth.Open(path)
		if err != nil {
			return err
		}
		if err := toks.Save(ctx, oauthAccount, srv.Current()); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(d.seedFor(fmt.Sprintf("oauth %t %d", w.naive, round)), 3))
	calls, torn := 0, 0
	g := &procGroup{onLine: func(_ int, line string) {
		switch {
		case line == "torn":
			torn++
			calls++
		case line == "ok" || strings.HasPrefix(line, "refused "):
			calls++
		}
	}}
	for range oauthProcs {
		c := demoChild{Role: roleOAuth, Naive: w.naive, Path: path, URL: srv.URL, MaxPause: oauthPause, Seed: rng.Uint64()}
		if err := g.start(c.command(d.self)); err != nil {
			g.kill()
			return err
		}
	}
	if err := g.wait(ctx, time.Minute); err != nil {
		return err
	}
	var last string
	if w.naive {
		var tok oauth2.Token
		if data, err := os.ReadFile(path); err == nil && json.Unmarshal(data, &tok) == nil {
			last = tok.RefreshToken
		}
	} else if toks, err := oauth.Open(path); err == nil {
		if tok, err := toks.Token(oauthAccount); err == nil {
			last = tok.RefreshToken
		}
	}
	refreshes, refused := srv.Counts()
	row.Rounds++
	row.Calls += calls
	row.Refreshes += refreshes
	row.Refused += refused
	row.Torn += torn
	if last != srv.Current().RefreshToken {
		row.LoggedOut++
	}
	if calls != oauthProcs*oauthCalls {
		return fmt.Errorf("the clients reported %d calls, not %d", calls, oauthProcs*oauthCalls)
	}
	return nil
}

// runOAuthPhase is runPhase for an OAuth phase.
func (d *demo) runOAuthPhase(p demoPhase) error {
	row := d.oauthRow(p.writer, p.mustHold)
	before := *row
	var delta demoOAuthRow
	begin := time.Now()
	line := func() string {
		delta = demoOAuthRow{Rounds: row.Rounds - before.Rounds, Calls: row.Calls - before.Calls,
			Refreshes: row.Refreshes - before.Refreshes, Refused: row.Refused - before.Refused,
			Torn: row.Torn - before.Torn, LoggedOut: row.LoggedOut - before.LoggedOut}
		return fmt.Sprintf("%-44s %4d/%-4d calls %-5d refreshes %-4d refused %-4d torn reads %-4d logged out %d",
			p.label, delta.Rounds, p.rounds, delta.Calls, delta.Refreshes, delta.Refused, delta.Torn, delta.LoggedOut)
	}
	d.prog.update(line())
	seen := 0
	err := p.runOAuth(d, row, func() {
		d.prog.update(line())
		if p.mustHold && delta.Violations() > seen && len(d.broken) < 10 {
			d.broken = append(d.broken, fmt.Sprintf("%s: round %d: %d refused, %d logged out so far", p.name(), delta.Rounds, delta.Refused, delta.LoggedOut))
		}
		seen = delta.Violations()
	})
	if err != nil {
		return err
	}
	d.prog.finish(line() + fmt.Sprintf(" (%.0fs)", time.Since(begin).Seconds()))
	return nil
}

func (d *demo) oauthRow(writer string, mustHold bool) *demoOAuthRow {
	return rowFor(&d.oauthRows, func(r *demoOAuthRow) bool { return r.Writer == writer },
		func() *demoOAuthRow { return &demoOAuthRow{Writer: writer, MustHold: mustHold} })
}

// writeOAuthTable prints the OAuth rows.
func writeOAuthTable(w io.Writer, rows []*demoOAuthRow) {
	writeRows(w, []string{"token keeper", "rounds", "calls", "refreshes", "refused", "torn reads", "logged out"},
		rows, func(r *demoOAuthRow) (string, []int) {
			return r.Writer, []int{r.Rounds, r.Calls, r.Refreshes, r.Refused, r.Torn, r.LoggedOut}
		})
}
