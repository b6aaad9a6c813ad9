//go:build unix

package main

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// terminate starts the command start builds, sends it SIGTERM once it has
// had time to get going, and returns its standard error and error. A
// loaded machine may not have brought the binary far enough to catch the
// signal within the first delay: a run that died of the signal without a
// word is tried again with a longer delay, so only a binary that never
// reports the interruption reaches the caller's checks that way. check
// runs after every attempt, for what must hold however the run ended.
func terminate(t *testing.T, start func() (*exec.Cmd, *strings.Builder), check func()) (string, error) {
	t.Helper()
	delays := []time.Duration{300 * time.Millisecond, time.Second, 3 * time.Second, 8 * time.Second}
	for i, delay := range delays {
		cmd, stderr := start()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		if check != nil {
			check()
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) && !exit.Exited() && stderr.Len() == 0 && i < len(delays)-1 {
			t.Logf("%v had not caught signals yet after %v; trying a longer delay", cmd.Args[1:], delay)
			continue
		}
		return stderr.String(), err
	}
	panic("unreachable")
}
