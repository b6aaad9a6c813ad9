package durable_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/internal/testdir"
)

// The crash tests run the writer in a child process: this test binary,
// re-executed to run only TestCrashWriterChild, with the writer's
// configuration in the environment. A helper test rather than TestMain keeps
// the package free to have its own TestMain.

// TestCrashWriterChild is the writer child of TestKillWriter, TestKillNaive
// and TestPowerCut; run directly, it does nothing.
func TestCrashWriterChild(t *testing.T) {
	cfg, ok, err := crashtest.WriterFromEnv()
	if !ok {
		t.Skip("the writer child of the crash tests; runs only when they start it")
	}
	if err == nil {
		err = crashtest.RunWriter(context.Background(), os.Stdout, cfg)
	}
	// The writer runs until it is killed; getting here is a failure.
	os.Stderr.WriteString(err.Error() + "\n")
	os.Exit(1)
}

// writerChild returns a spawn function for the crash drivers.
func writerChild(cfg crashtest.WriterConfig) func() *exec.Cmd {
	return func() *exec.Cmd {
		return crashtest.Command(cfg, os.Args[0], testdir.Args("TestCrashWriterChild")...)
	}
}

// everyRoundHolds is the report of a crash driver whose every round must
// keep the promise: it fails the test at each round that did not.
func everyRoundHolds(t *testing.T) func(crashtest.Round) {
	return func(r crashtest.Round) {
		if !r.Verdict.OK {
			t.Errorf("%v", r)
		}
	}
}

// ranAll fails the test unless a crash driver ran all its n rounds.
func ranAll(t *testing.T, tally crashtest.Tally, err error, n int) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if tally.Rounds != n {
		t.Errorf("ran %d rounds, want %d", tally.Rounds, n)
	}
}

// crashSeed returns a fresh seed for the crash timing and logs it, so a
// failing run can be replayed (as far as timing allows).
func crashSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("crash timing seed %d", seed)
	return seed
}

func skipKillOnWindows(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("kill rounds run on Unix only: Windows has no SIGKILL")
	}
}

// TestKillWriter SIGKILLs a process that rewrites a file with
// durable.WriteFile, at random moments, and requires every round to leave a
// complete version no older than the last acknowledged one.
func TestKillWriter(t *testing.T) {
	skipKillOnWindows(t)
	n := testdir.Rounds(200, 40, 20)
	path := filepath.Join(testdir.New(t), "state.json")
	cfg := crashtest.WriterConfig{Path: path, Durable: true}
	tally, err := crashtest.KillRounds(context.Background(), n, writerChild(cfg), path, everyRoundHolds(t),
		crashtest.WithSeed(crashSeed(t)))
	ranAll(t, tally, err, n)
	t.Logf("durable.WriteFile under kill -9: %v", tally)
}

// TestKillNaive checks the harness rather than the library: the same rounds
// against os.WriteFile (truncate, then write) should catch it leaving an
// empty or torn file. It does not fail when they do not, since a kill has
// to land in a window of microseconds, but it says so.
func TestKillNaive(t *testing.T) {
	skipKillOnWindows(t)
	n := testdir.Rounds(100, 100, 30)
	path := filepath.Join(testdir.New(t), "state.json")
	cfg := crashtest.WriterConfig{Path: path, Durable: false}
	tally, err := crashtest.KillRounds(context.Background(), n, writerChild(cfg), path, nil,
		crashtest.WithSeed(crashSeed(t)))
	ranAll(t, tally, err, n)
	if t.Failed() {
		return
	}
	if tally.Violations() == 0 {
		t.Logf("os.WriteFile survived all %d kills this time; the harness did not see it tear", n)
		return
	}
	t.Logf("os.WriteFile under kill -9, as expected not atomic: %v", tally)
}
