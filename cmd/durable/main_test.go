package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/durable-go/durable/cmd/durable/internal/demo"
	"github.com/durable-go/durable/internal/bench"
)

// TestMain lets the test binary stand in for the durable binary when the
// demo re-executes itself as a writer child.
func TestMain(m *testing.M) {
	if bench.WorkerMain() {
		os.Exit(0)
	}
	if demo.IsChild() {
		c := &cli{ctx: context.Background(), stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
		os.Exit(c.main([]string{crashWriterName}))
	}
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// The durable binary, built once per test run for the tests that run it
// as a user would: exit codes, stdout and stderr, and signals all as a
// real process gives them.
var (
	buildOnce sync.Once
	builtDir  string
	builtBin  string
	buildErr  error
)

// durableBinary builds cmd/durable and returns its path.
func durableBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		// Under Wine the Windows test binary runs with no Go toolchain
		// to build the CLI with.
		t.Skipf("no go command to build the CLI with: %v", err)
	}
	buildOnce.Do(func() {
		builtDir, buildErr = os.MkdirTemp("", "durable-cli-test-")
		if buildErr != nil {
			return
		}
		if err := os.Chmod(builtDir, 0o755); err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(builtDir, "durable")
		if runtime.GOOS == "windows" {
			builtBin += ".exe"
		}
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// runBinary runs the built durable binary with args and stdin (none if
// nil) in dir ("" for the current directory).
func runBinary(t *testing.T, dir string, stdin io.Reader, args ...string) result {
	t.Helper()
	cmd := exec.Command(durableBinary(t), args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("running durable %v: %v", args, err)
		}
		code = exit.ExitCode()
	}
	return result{code, stdout.String(), stderr.String()}
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runCLI runs durable with args and stdin, as main would, without building
// the binary.
func runCLI(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr bytes.Buffer
	c := &cli{ctx: context.Background(), stdin: stdin, stdout: &stdout, stderr: &stderr}
	code := c.main(args)
	return result{code, stdout.String(), stderr.String()}
}
