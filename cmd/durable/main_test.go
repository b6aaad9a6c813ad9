package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/crashtest"
)

// TestMain lets the test binary stand in for the durable binary when the
// demo re-executes itself as a writer child.
func TestMain(m *testing.M) {
	_, fileWriter, _ := crashtest.WriterFromEnv()
	_, logWriter, _ := crashtest.LogWriterFromEnv()
	_, demoChild, _ := demoChildFromEnv()
	if fileWriter || logWriter || demoChild {
		c := &cli{ctx: context.Background(), stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
		os.Exit(c.main([]string{crashWriterName}))
	}
	os.Exit(m.Run())
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
