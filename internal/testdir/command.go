package testdir

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Command returns a command that runs this test binary again as a child
// process: only the test named test (none when test is "", for a child
// that TestMain runs), once, with env ("KEY=value") added to this
// process's environment. The child tells itself apart by that environment.
//
// Under -race the child's runtime would otherwise sleep a second at exit
// before reporting; GORACE's atexit_sleep_ms=0 is added to whatever GORACE
// says.
func Command(test string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], Args(test)...)
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), "GORACE="+gorace)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// Args are the flags that make this test binary run only the test named
// test (none when test is ""), once: for a child started through another
// helper that takes the binary and its arguments (crashtest.Command).
func Args(test string) []string {
	run := "-test.run=^$"
	if test != "" {
		run = "-test.run=^" + test + "$"
	}
	return []string{run, "-test.count=1"}
}

// Start starts cmd (from Command, or any child) with its standard output
// piped to the returned reader, failing the test if it cannot. Waiting for
// the child, and killing it, stay the caller's: each test ends its children
// its own way.
func Start(tb testing.TB, cmd *exec.Cmd) io.ReadCloser {
	tb.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// StartPiped is Start with the child's standard input piped from the
// returned writer too, for a child the test talks to.
func StartPiped(tb testing.TB, cmd *exec.Cmd) (io.WriteCloser, io.ReadCloser) {
	tb.Helper()
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	return in, Start(tb, cmd)
}

// Repeat calls fn again and again in a goroutine of its own, a race
// partner for the code under test, until fn returns false or the test
// calls the returned stop. stop waits for the call in progress to return;
// calling it again does nothing more.
func Repeat(fn func() bool) (stop func()) {
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-quit:
				return
			default:
			}
			if !fn() {
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-finished
	}
}
