package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/durable-go/durable"
)

// WriterConfig describes a writer child.
type WriterConfig struct {
	// Path is the file the writer replaces, again and again.
	Path string `json:"path"`
	// Durable selects durable.WriteFile; otherwise the writer uses
	// os.WriteFile, as most tools do (truncate, write, no fsync).
	Durable bool `json:"durable"`
	// Size is the approximate document size (DefaultSize if zero).
	Size int `json:"size,omitempty"`
	// MaxPause is the longest random pause between two writes. Real
	// programs do other work between saves, and a power cut that falls in
	// such a pause is what exposes a missing directory fsync: the next
	// write's fsync would otherwise commit the previous rename too.
	MaxPause time.Duration `json:"max_pause,omitempty"`
	// Seed makes the pauses reproducible (0: random).
	Seed uint64 `json:"seed,omitempty"`
	// Count stops the writer after that many writes (0: until killed).
	Count int `json:"count,omitempty"`
}

// Name is how reports call the writer.
func (c WriterConfig) Name() string {
	if c.Durable {
		return "durable.WriteFile"
	}
	return "os.WriteFile"
}

// RunWriter writes successive versions of the test document to cfg.Path and
// prints "ack N" to out after the write of version N has returned. It starts
// after the version already in the file (or at 1) and runs until ctx is
// done, cfg.Count writes are made, or a write fails.
func RunWriter(ctx context.Context, out io.Writer, cfg WriterConfig) error {
	if cfg.Path == "" {
		return fmt.Errorf("crashtest: writer needs a path")
	}
	next := uint64(1)
	if data, err := os.ReadFile(cfg.Path); err == nil {
		if v, err := Decode(data); err == nil {
			next = v + 1
		}
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(seed, next))
	for n := 0; cfg.Count == 0 || n < cfg.Count; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		doc := Encode(next, cfg.Size)
		var err error
		if cfg.Durable {
			err = durable.WriteFile(cfg.Path, doc, 0o644)
		} else {
			err = os.WriteFile(cfg.Path, doc, 0o644)
		}
		if err != nil {
			return fmt.Errorf("write version %d: %w", next, err)
		}
		// The ack goes out only after the write returned: the harness holds
		// the writer to every version it has seen acknowledged.
		if _, err := fmt.Fprintf(out, "ack %d\n", next); err != nil {
			return err
		}
		if f, ok := out.(interface{ Flush() error }); ok {
			if err := f.Flush(); err != nil {
				return err
			}
		}
		next++
		if cfg.MaxPause > 0 {
			pause := time.Duration(rng.Int64N(int64(cfg.MaxPause)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
		}
	}
	return nil
}

// WriterEnv is the environment variable that hands a WriterConfig (as JSON)
// to a child process, so that any binary, a test binary included, can
// re-execute itself as the writer without its own flags getting in the way.
const WriterEnv = "DURABLE_CRASHTEST_WRITER"

// Command returns a command that runs name with args and cfg in its
// environment. The child is expected to call WriterFromEnv and RunWriter
// with its standard output.
func Command(cfg WriterConfig, name string, args ...string) *exec.Cmd {
	return childCommand(WriterEnv, cfg, name, args...)
}

// WriterFromEnv returns the WriterConfig that Command put in the
// environment; ok is false when this process is not a writer child.
func WriterFromEnv() (cfg WriterConfig, ok bool, err error) {
	ok, err = fromEnv(WriterEnv, &cfg)
	return cfg, ok, err
}

// childCommand runs name as a child whose configuration, cfg as JSON, is in
// the environment variable env; the children of the other kind of writer
// are told apart by their variable, so neither is inherited.
func childCommand(env string, cfg any, name string, args ...string) *exec.Cmd {
	js, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // a struct of plain fields always marshals
	}
	cmd := exec.Command(name, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, WriterEnv+"=") && !strings.HasPrefix(kv, LogWriterEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env+"="+string(js))
	return cmd
}

// fromEnv decodes the configuration childCommand put in env into cfg; ok
// is false when this process is not such a child.
func fromEnv(env string, cfg any) (ok bool, err error) {
	js, ok := os.LookupEnv(env)
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal([]byte(js), cfg); err != nil {
		return true, fmt.Errorf("crashtest: bad %s: %w", env, err)
	}
	return true, nil
}
