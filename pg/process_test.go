package pg

// Processes stand in for hosts: the test binary runs itself with
// PG_CHILD naming a role, against the same schema.

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/internal/tokenserver"
	"github.com/durable-go/durable/oauth"
)

func TestMain(m *testing.M) {
	if role := os.Getenv("PG_CHILD"); role != "" {
		os.Exit(child(role))
	}
	os.Exit(m.Run())
}

// child runs one role and returns the exit code.
func child(role string) int {
	ctx := context.Background()
	db, err := Open(ctx, os.Getenv("DURABLE_TEST_PG"), &Options{Schema: os.Getenv("PG_SCHEMA")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	defer db.Close()
	n, _ := strconv.Atoi(os.Getenv("PG_N"))
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	say := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	}
	switch role {
	case "incr":
		s, err := OpenStore[settings](db, "counter", nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		for range n {
			if _, err := s.Update(ctx, func(v *settings) error { v.Runs++; return nil }); err != nil {
				fmt.Fprintln(os.Stderr, "update:", err)
				return 1
			}
		}
	case "lock":
		path := os.Getenv("PG_FILE")
		for range n {
			h, err := db.Lock(ctx, "counter-file")
			if err != nil {
				fmt.Fprintln(os.Stderr, "lock:", err)
				return 1
			}
			// A read-modify-write that any second holder would break.
			b, _ := os.ReadFile(path)
			v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
			os.WriteFile(path, []byte(strconv.Itoa(v+1)), 0o644)
			if err := h.Unlock(); err != nil {
				fmt.Fprintln(os.Stderr, "unlock:", err)
				return 1
			}
		}
	case "produce":
		q, _ := db.Queue("work", &QueueOptions{MaxAttempts: -1})
		me := os.Getenv("PG_ME")
		for i := range n {
			if _, err := q.Push(ctx, []byte(me+"-"+strconv.Itoa(i))); err != nil {
				fmt.Fprintln(os.Stderr, "push:", err)
				return 1
			}
		}
	case "consume":
		q, _ := db.Queue("work", &QueueOptions{MaxAttempts: -1, PollInterval: 20 * time.Millisecond})
		for {
			msgs, err := q.PopBatch(ctx, 4, 300*time.Millisecond)
			if err != nil {
				fmt.Fprintln(os.Stderr, "pop:", err)
				return 1
			}
			for _, m := range msgs {
				say("popped %s %d %d", m.Payload, m.Attempt, time.Now().UnixNano())
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
				say("acking %s", m.Payload)
				if err := q.Ack(ctx, m.Lease); err != nil {
					say("refused %s %v", m.Payload, err)
					continue
				}
				say("acked %s %d", m.Payload, time.Now().UnixNano())
			}
		}
	case "oauth":
		cfg := &oauth2.Config{ClientID: "c", Endpoint: oauth2.Endpoint{TokenURL: os.Getenv("PG_TOKEN_URL"), AuthStyle: oauth2.AuthStyleInParams}}
		ts, err := NewTokenSource(ctx, db, cfg, "fleet", "acct", oauth.WithExpiryDelta(0), oauth.OnWarning(func(error) {}))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		deadline := time.Now().Add(time.Duration(n) * time.Millisecond)
		for time.Now().Before(deadline) {
			tok, err := ts.Token()
			if err != nil {
				say("error %v", err)
				return 1
			}
			say("token %s", tok.AccessToken)
			time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
		}
	default:
		return 3
	}
	return 0
}

func spawn(t *testing.T, schema, role string, n int, env ...string) *exec.Cmd {
	t.Helper()
	cmd := testdir.Command("", append([]string{"PG_CHILD=" + role, "PG_SCHEMA=" + schema, "PG_N=" + strconv.Itoa(n)}, env...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

func runAll(t *testing.T, cmds []*exec.Cmd) {
	t.Helper()
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("%v: %v", c.Env[len(c.Env)-1], err)
		}
	}
}

func TestProcessesIncrementOneDocument(t *testing.T) {
	db := openTest(t)
	const procs, each = 8, 500
	var cmds []*exec.Cmd
	for range procs {
		cmds = append(cmds, spawn(t, db.Schema(), "incr", each))
	}
	runAll(t, cmds)
	s, _ := OpenStore[settings](db, "counter", nil)
	v, _, err := s.Get()
	if err != nil || v.Runs != procs*each {
		t.Fatalf("counter = %d (%v), want exactly %d", v.Runs, err, procs*each)
	}
}

func TestProcessesNeverShareALock(t *testing.T) {
	db := openTest(t)
	file := filepath.Join(t.TempDir(), "n")
	os.WriteFile(file, []byte("0"), 0o644)
	const procs, each = 6, 100
	var cmds []*exec.Cmd
	for range procs {
		cmds = append(cmds, spawn(t, db.Schema(), "lock", each, "PG_FILE="+file))
	}
	runAll(t, cmds)
	b, _ := os.ReadFile(file)
	if got := strings.TrimSpace(string(b)); got != strconv.Itoa(procs*each) {
		t.Fatalf("the file counts %s, want %d: two holders at once lost an update", got, procs*each)
	}
}

// signedInLongAgo starts a token endpoint whose access tokens last
// accessLife and stores, as account "acct" of the token set "fleet", the
// token it issued, expired long ago: the refresh token is the one the
// endpoint accepts now.
func signedInLongAgo(t *testing.T, db *DB, accessLife time.Duration) *tokenserver.Server {
	t.Helper()
	srv := tokenserver.Start(accessLife)
	t.Cleanup(srv.Close)
	toks, err := OpenTokens(db, "fleet", oauth.OnWarning(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	tok := srv.Current()
	tok.Expiry = time.Now().Add(-time.Hour)
	if err := toks.Save(ctxT(t), "acct", tok); err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestProcessesRefreshOncePerExpiry(t *testing.T) {
	db := openTest(t)
	srv := signedInLongAgo(t, db, time.Second)
	const procs = 8
	var cmds []*exec.Cmd
	outs := make([]*strings.Builder, procs)
	for i := range procs {
		c := spawn(t, db.Schema(), "oauth", 4000, "PG_TOKEN_URL="+srv.URL)
		outs[i] = &strings.Builder{}
		c.Stdout = outs[i]
		cmds = append(cmds, c)
	}
	runAll(t, cmds)
	for i, o := range outs {
		if strings.Contains(o.String(), "error") {
			t.Errorf("process %d: %s", i, o.String())
		}
	}
	refreshes, refused := srv.Counts()
	if refused != 0 {
		t.Fatalf("%d invalid_grant: a refresh token was spent twice", refused)
	}
	// One refresh per expiry: about 4 s of 1 s tokens.
	if refreshes < 2 || refreshes > 8 {
		t.Fatalf("%d refreshes in 4 s of 1 s tokens", refreshes)
	}
	t.Logf("%d refreshes, 0 invalid_grant", refreshes)
}

// Producers push, consumers pop and ack and are killed with SIGKILL at
// random moments, mid-lease. Every message is acknowledged exactly once,
// and none is delivered after its Ack.
func TestProcessesQueueSurvivesKilledConsumers(t *testing.T) {
	db := openTest(t)
	const producers, consumers, each = 4, 4, 150
	var prods []*exec.Cmd
	for i := range producers {
		prods = append(prods, spawn(t, db.Schema(), "produce", each, "PG_ME=p"+strconv.Itoa(i)))
	}
	prodErrs := make(chan error, producers)
	for _, c := range prods {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { prodErrs <- c.Wait() }()
	}
	var mu sync.Mutex
	var logs [][]string // per consumer process
	var killedLogs []bool
	start := func() (*exec.Cmd, int) {
		c := spawn(t, db.Schema(), "consume", 0)
		c.Stderr = nil
		pipe, _ := c.StdoutPipe()
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		i := len(logs)
		logs = append(logs, nil)
		killedLogs = append(killedLogs, false)
		mu.Unlock()
		go func() {
			sc := bufio.NewScanner(pipe)
			for sc.Scan() {
				mu.Lock()
				logs[i] = append(logs[i], sc.Text())
				mu.Unlock()
			}
		}()
		return c, i
	}
	type running struct {
		c *exec.Cmd
		i int
	}
	var cs []running
	for range consumers {
		c, i := start()
		cs = append(cs, running{c, i})
	}
	q, _ := db.Queue("work", nil)
	ctx := ctxT(t)
	kills := 0
	deadline := time.Now().Add(45 * time.Second)
	finished := 0
	for {
		time.Sleep(time.Duration(50+rand.IntN(150)) * time.Millisecond)
	drain:
		for {
			select {
			case err := <-prodErrs:
				if err != nil {
					t.Fatalf("producer: %v", err)
				}
				finished++
			default:
				break drain
			}
		}
		producersDone := finished == producers
		st, err := q.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if producersDone && st.Ready+st.Leased+st.Delayed == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not drained: %+v", st)
		}
		if kills < 12 {
			k := rand.IntN(len(cs))
			cs[k].c.Process.Signal(syscall.SIGKILL)
			cs[k].c.Wait()
			mu.Lock()
			killedLogs[cs[k].i] = true
			mu.Unlock()
			kills++
			c, i := start()
			cs[k] = running{c, i}
		}
	}
	for _, r := range cs {
		r.c.Process.Signal(syscall.SIGKILL)
		r.c.Wait()
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	acked := map[string]int64{}  // payload -> when
	pending := map[string]bool{} // acking seen, outcome unknown (killed)
	for i, l := range logs {
		open := map[string]bool{}
		for _, s := range l {
			f := strings.Fields(s)
			switch f[0] {
			case "acking":
				open[f[1]] = true
			case "acked":
				delete(open, f[1])
				if _, dup := acked[f[1]]; dup {
					t.Errorf("%s acknowledged twice", f[1])
				}
				at, _ := strconv.ParseInt(f[2], 10, 64)
				acked[f[1]] = at
			case "refused":
				delete(open, f[1])
			}
		}
		// Consumers are all killed at the end: an ack in flight in any
		// of them may or may not have happened.
		for p := range open {
			pending[p] = true
		}
		_ = killedLogs[i]
	}
	for _, l := range logs {
		for _, s := range l {
			f := strings.Fields(s)
			if f[0] == "popped" {
				at, _ := strconv.ParseInt(f[3], 10, 64)
				if ackAt, ok := acked[f[1]]; ok && at > ackAt {
					t.Errorf("%s delivered again after its Ack", f[1])
				}
			}
		}
	}
	missing := 0
	for i := range producers {
		for j := range each {
			p := "p" + strconv.Itoa(i) + "-" + strconv.Itoa(j)
			if _, ok := acked[p]; !ok {
				if !pending[p] {
					t.Errorf("%s was never acknowledged", p)
				}
				missing++
			}
		}
	}
	if missing > kills+consumers {
		t.Errorf("%d messages acknowledged by killed consumers only, with %d kills", missing, kills)
	}
	t.Logf("%d messages, %d kills, %d acks whose outcome died with their consumer", producers*each, kills, missing)
}
