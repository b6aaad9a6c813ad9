package lock

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
)

// Helper processes: the test binary runs itself with -test.run=TestHelperProcess
// and these variables saying what to do, so that cross-process behaviour is
// tested with a real second process and no external tool.
const (
	roleEnv = "DURABLE_LOCK_TEST_ROLE"
	pathEnv = "DURABLE_LOCK_TEST_PATH"
	// Lines a helper prints start with this, to tell them from anything the
	// test framework prints.
	helperPrefix = "helper: "
)

// TestHelperProcess is not a test: it is the body of a helper process.
//
// Roles: "try" and "tryr" make one TryLock or TryRLock and print "ok" or
// "locked"; "hold" and "rhold" take Lock or RLock, print "locked" and hold
// until standard input closes; "idle" prints "started" and waits for standard
// input to close, touching no lock; "spawn" takes Lock, starts a "sleep"
// helper that outlives it, prints "locked" and the sleeper's pid, and holds
// until standard input closes; "sleep" sleeps 20 seconds.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(roleEnv)
	if role == "" {
		return
	}
	os.Exit(helperMain(role, os.Getenv(pathEnv)))
}

func helperMain(role, name string) int {
	say := func(s string) { fmt.Println(helperPrefix + s) }
	var (
		l   *Held
		err error
	)
	switch role {
	case "try":
		l, err = TryLock(name)
	case "tryr":
		l, err = TryRLock(name)
	case "hold":
		l, err = Lock(context.Background(), name)
	case "rhold":
		l, err = RLock(context.Background(), name)
	case "idle":
		say("started")
		waitForStdinEOF()
		return 0
	case "sleep":
		time.Sleep(20 * time.Second)
		return 0
	case "spawn":
		l, err = Lock(context.Background(), name)
		if err != nil {
			say("error: " + err.Error())
			return 1
		}
		// No stdin or stdout of ours, so that it lives on when we die.
		cmd := helperCommand("sleep", name)
		if err := cmd.Start(); err != nil {
			say("error: " + err.Error())
			return 1
		}
		say("locked")
		say(fmt.Sprint(cmd.Process.Pid))
		waitForStdinEOF()
		l.Unlock()
		return 0
	default:
		say("unknown role " + role)
		return 2
	}
	switch {
	case err == nil:
	case isLocked(err):
		say("locked")
		return 0
	default:
		say("error: " + err.Error())
		return 1
	}
	if role == "try" || role == "tryr" {
		say("ok")
	} else {
		say("locked")
		waitForStdinEOF()
	}
	if err := l.Unlock(); err != nil {
		say("error: " + err.Error())
		return 1
	}
	return 0
}

// waitForStdinEOF returns when the parent closes our standard input, or dies,
// or after a minute, so that a helper never outlives a broken test for long.
func waitForStdinEOF() {
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
	}
}

// helper is a running helper process.
type helper struct {
	t      *testing.T
	role   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	exited chan struct{}
}

func helperCommand(role, name string) *exec.Cmd {
	return testdir.Command("TestHelperProcess", roleEnv+"="+role, pathEnv+"="+name)
}

func startHelper(t *testing.T, role, name string) *helper {
	t.Helper()
	cmd := helperCommand(role, name)
	cmd.Stderr = os.Stderr
	stdin, stdout := testdir.StartPiped(t, cmd)
	h := &helper{t: t, role: role, cmd: cmd, stdin: stdin, lines: make(chan string, 16), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if s, ok := strings.CutPrefix(strings.TrimRight(sc.Text(), "\r"), helperPrefix); ok {
				h.lines <- s
			}
		}
		close(h.lines)
		cmd.Wait()
		close(h.exited)
	}()
	t.Cleanup(h.kill)
	return h
}

// line returns the helper's next line of output.
func (h *helper) line() string {
	h.t.Helper()
	select {
	case s, ok := <-h.lines:
		if !ok {
			h.t.Fatalf("%s helper exited without saying anything", h.role)
		}
		return s
	case <-time.After(20 * time.Second):
		h.t.Fatalf("%s helper said nothing for 20s", h.role)
		return ""
	}
}

func (h *helper) expect(want string) {
	h.t.Helper()
	if got := h.line(); got != want {
		h.t.Fatalf("%s helper said %q, want %q", h.role, got, want)
	}
}

// stop closes the helper's standard input, which makes a holder unlock and
// exit, and waits for it to exit.
func (h *helper) stop() {
	h.t.Helper()
	h.stdin.Close()
	select {
	case <-h.exited:
	case <-time.After(20 * time.Second):
		h.t.Fatal("helper did not exit within 20s of its stdin closing")
	}
}

func (h *helper) alive() bool {
	select {
	case <-h.exited:
		return false
	default:
		return true
	}
}

func (h *helper) kill() {
	if h.alive() {
		h.cmd.Process.Kill()
		<-h.exited
	}
}

// runHelper runs a one-shot helper ("try" or "tryr") and returns what it said.
func runHelper(t *testing.T, role, name string) string {
	t.Helper()
	h := startHelper(t, role, name)
	s := h.line()
	h.stop()
	return s
}

// tempName returns a path for a data file in a fresh directory.
func tempName(t *testing.T) string {
	t.Helper()
	return filepath.Join(testdir.New(t), "data")
}
