package demo

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/durable-go/durable/internal/crashtest"
)

// The store and queue suites run several child processes at once against
// one file or directory, kill them all (or cut the power under them), and
// judge what is on disk against everything they said before the crash.
// Their children are this executable again, as the hidden _crash-writer
// verb, with a demoChild in the environment.

// demoChildEnv hands a demoChild (as JSON) to a child process.
const demoChildEnv = "DURABLE_DEMO_CHILD"

// The roles of a demoChild.
const (
	roleCounter  = "counter"  // increments its own counter in a shared JSON document
	roleProducer = "producer" // pushes messages to a queue
	roleConsumer = "consumer" // pops messages, works on them, acknowledges them
	roleOAuth    = "oauth"    // asks for a valid access token, again and again
)

// demoChild is the configuration of one child of the store or queue suite.
type demoChild struct {
	Role  string `json:"role"`
	Naive bool   `json:"naive"` // what programs do today, rather than durable's package
	Path  string `json:"path"`  // the document, or the queue's directory
	// Name is the child's counter key (counter) or the prefix of its
	// messages (producer): unique among the children of a round.
	Name     string        `json:"name"`
	URL      string        `json:"url,omitempty"` // oauth: the token endpoint
	MaxPause time.Duration `json:"max_pause"`
	Seed     uint64        `json:"seed"`
}

// pause sleeps for a random time below max: real programs update their
// state as things happen, not in a tight loop, and the crash must be able
// to land anywhere.
func (c demoChild) pauser() func(ctx context.Context) {
	rng := rand.New(rand.NewPCG(c.Seed, 0x64656d6f))
	return func(ctx context.Context) {
		if c.MaxPause <= 0 {
			return
		}
		t := time.NewTimer(time.Duration(rng.Int64N(int64(c.MaxPause))))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

// command returns the command that runs this executable as the child.
func (c demoChild) command(self string) *exec.Cmd {
	js, err := json.Marshal(c)
	if err != nil {
		panic(err) // plain fields always marshal
	}
	cmd := exec.Command(self, CrashWriterName)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != demoChildEnv && name != crashtest.WriterEnv && name != crashtest.LogWriterEnv {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, demoChildEnv+"="+string(js))
	return cmd
}

// demoChildFromEnv returns the demoChild in the environment; ok is false
// when this process is not one.
func demoChildFromEnv() (c demoChild, ok bool, err error) {
	js, ok := os.LookupEnv(demoChildEnv)
	if !ok {
		return c, false, nil
	}
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		return c, true, fmt.Errorf("bad %s: %w", demoChildEnv, err)
	}
	return c, true, nil
}

// runDemoChild runs a child until it is killed, printing one line per
// event to out. Each line is written whole, after the operation it reports
// returned: what the parent reads is what the child was told.
func runDemoChild(ctx context.Context, out io.Writer, c demoChild) error {
	switch c.Role {
	case roleCounter:
		return runCounter(ctx, out, c)
	case roleProducer:
		return runProducer(ctx, out, c)
	case roleConsumer:
		return runConsumer(ctx, out, c)
	case roleOAuth:
		return runOAuthClient(ctx, out, c)
	}
	return fmt.Errorf("unknown demo child role %q", c.Role)
}

// procGroup is the children of one round and what they printed.
type procGroup struct {
	mu     sync.Mutex
	procs  []*demoProc
	onLine func(child int, line string) // called under mu
}

// demoProc is one running child.
type demoProc struct {
	cmd    *exec.Cmd
	lines  int           // lines read so far (under the group's mu)
	first  chan struct{} // closed at the first line
	eof    chan struct{} // closed when its stdout is closed
	stderr strings.Builder
	killed bool
}

// start runs cmd as the group's next child.
func (g *procGroup) start(cmd *exec.Cmd) error {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	p := &demoProc{cmd: cmd, first: make(chan struct{}), eof: make(chan struct{})}
	cmd.Stderr = &lockedWriter{mu: &g.mu, b: &p.stderr}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start child: %w", err)
	}
	g.mu.Lock()
	i := len(g.procs)
	g.procs = append(g.procs, p)
	g.mu.Unlock()
	go func() {
		defer close(p.eof)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			g.mu.Lock()
			p.lines++
			if p.lines == 1 {
				close(p.first)
			}
			g.onLine(i, sc.Text())
			g.mu.Unlock()
		}
	}()
	return nil
}

// waitFirst waits until every child printed a line (each has done
// something to crash in the middle of), or one died.
func (g *procGroup) waitFirst(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for _, p := range g.procs {
		select {
		case <-p.first:
		case <-p.eof:
			return g.died(p)
		case <-t.C:
			return fmt.Errorf("a child did nothing in %v%s", timeout, g.stderrNote(p))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// sleep waits for d; it fails if a child exits on its own meanwhile.
func (g *procGroup) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	eofs := make(chan *demoProc, len(g.procs))
	stop := make(chan struct{})
	defer close(stop)
	for _, p := range g.procs {
		go func() {
			select {
			case <-p.eof:
				eofs <- p
			case <-stop:
			}
		}()
	}
	select {
	case <-t.C:
		return nil
	case p := <-eofs:
		return g.died(p)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait waits for every child to finish on its own; a child that fails, or
// is not done in time, fails the round.
func (g *procGroup) wait(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for _, p := range g.procs {
		select {
		case <-p.eof:
		case <-t.C:
			g.kill()
			return fmt.Errorf("a child was not done in %v%s", timeout, g.stderrNote(p))
		case <-ctx.Done():
			g.kill()
			return ctx.Err()
		}
		if err := p.cmd.Wait(); err != nil {
			p.killed = true
			g.kill()
			return fmt.Errorf("a child failed (%v)%s", err, g.stderrNote(p))
		}
		p.killed = true
	}
	return nil
}

// kill SIGKILLs every child, then reads what is left of their output and
// reaps them.
func (g *procGroup) kill() {
	for _, p := range g.procs {
		if !p.killed {
			p.cmd.Process.Kill()
		}
	}
	for _, p := range g.procs {
		if !p.killed {
			<-p.eof
			p.cmd.Wait()
			p.killed = true
		}
	}
}

func (g *procGroup) died(p *demoProc) error {
	g.kill()
	return fmt.Errorf("a child exited on its own (%v)%s", p.cmd.ProcessState, g.stderrNote(p))
}

func (g *procGroup) stderrNote(p *demoProc) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := strings.TrimSpace(p.stderr.String()); s != "" {
		return ": " + s
	}
	return ""
}

// lockedWriter appends to a builder under a mutex shared with the reader
// of the same child's stdout.
type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() < 4<<10 {
		w.b.Write(p)
	}
	return len(p), nil
}

// groupRound is one crash of a group of children: start them, let them
// work for a random time, then kill them or cut the power under them.
type groupRound struct {
	kind  string // "kill" or "power cut"
	mount *crashtest.Mount
	delay time.Duration
	// beforeCut is called, under the group's lock, at the moment of the
	// power cut: what the children said until then predates it.
	beforeCut func()
}

// run runs the round's children, which start must start in g.
func (r groupRound) run(ctx context.Context, g *procGroup, start func() error) error {
	if err := start(); err != nil {
		g.kill()
		return err
	}
	if err := g.waitFirst(ctx, 30*time.Second); err != nil {
		g.kill()
		return err
	}
	if err := g.sleep(ctx, r.delay); err != nil {
		g.kill()
		return err
	}
	if r.kind == "kill" {
		g.kill()
		return nil
	}
	g.mu.Lock()
	r.beforeCut()
	g.mu.Unlock()
	cutErr := r.mount.Shutdown()
	g.kill()
	if cutErr != nil {
		return cutErr
	}
	return r.mount.Remount()
}
