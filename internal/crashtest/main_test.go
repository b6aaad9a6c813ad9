package crashtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// TestMain lets the test binary double as the writer child: the drivers
// re-execute it with a WriterConfig in the environment.
func TestMain(m *testing.M) {
	if cfg, ok, err := WriterFromEnv(); ok {
		if err == nil {
			err = RunWriter(context.Background(), os.Stdout, cfg)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// spawner returns a spawn function that runs this test binary as a writer.
func spawner(cfg WriterConfig) func() *exec.Cmd {
	return func() *exec.Cmd { return Command(cfg, os.Args[0]) }
}
