package crashtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
)

func TestRunWriter(t *testing.T) {
	for _, durable := range []bool{false, true} {
		cfg := WriterConfig{Path: filepath.Join(testdir.New(t), "state.json"), Durable: durable, Size: 2000, Count: 3}
		t.Run(cfg.Name(), func(t *testing.T) {
			var out bytes.Buffer
			if err := RunWriter(context.Background(), &out, cfg); err != nil {
				t.Fatal(err)
			}
			if out.String() != "ack 1\nack 2\nack 3\n" {
				t.Errorf("acks = %q", out.String())
			}
			// A new writer continues after the version in the file.
			out.Reset()
			if err := RunWriter(context.Background(), &out, cfg); err != nil {
				t.Fatal(err)
			}
			if out.String() != "ack 4\nack 5\nack 6\n" {
				t.Errorf("second run acks = %q", out.String())
			}
			if v := Check(cfg.Path, 6); !v.OK || v.Version != 6 {
				t.Errorf("after 6 writes: %v", v)
			}
		})
	}
}

func TestWriterEnv(t *testing.T) {
	cfg := WriterConfig{Path: "/x/y", Durable: true, Size: 10, MaxPause: 3, Seed: 4, Count: 5}
	cmd := Command(cfg, "true")
	var found int
	for _, kv := range cmd.Env {
		if len(kv) > len(WriterEnv) && kv[:len(WriterEnv)+1] == WriterEnv+"=" {
			found++
			t.Setenv(WriterEnv, kv[len(WriterEnv)+1:])
		}
	}
	if found != 1 {
		t.Fatalf("%d %s entries in %v", found, WriterEnv, cmd.Env)
	}
	got, ok, err := WriterFromEnv()
	if !ok || err != nil || got != cfg {
		t.Errorf("WriterFromEnv = %+v, %v, %v; want %+v", got, ok, err, cfg)
	}
	os.Unsetenv(WriterEnv)
	if _, ok, _ := WriterFromEnv(); ok {
		t.Error("WriterFromEnv found a config in a clean environment")
	}
}

func TestKillRoundsDurable(t *testing.T) {
	path := filepath.Join(testdir.New(t), "state.json")
	var rounds int
	tally, err := KillRounds(context.Background(), 10, spawner(WriterConfig{Path: path, Durable: true}), path,
		func(r Round) {
			rounds++
			if !r.Verdict.OK {
				t.Errorf("%v", r)
			}
		}, WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	if rounds != 10 || tally.Rounds != 10 || tally.OK != 10 {
		t.Errorf("%d rounds reported, tally %v", rounds, tally)
	}
}

func TestKillRoundsReportsChildFailure(t *testing.T) {
	// A writer that cannot write (its directory does not exist) must be
	// reported as a harness error, not counted as rounds.
	dir := testdir.New(t)
	path := filepath.Join(dir, "state.json")
	bad := filepath.Join(dir, "missing", "sub", "x")
	if err := os.WriteFile(filepath.Join(dir, "missing"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The long delay makes sure the child fails before any kill.
	_, err := KillRounds(context.Background(), 3, spawner(WriterConfig{Path: bad}), path, nil,
		WithSeed(1), WithMaxDelay(time.Minute))
	if err == nil {
		t.Fatal("KillRounds with a failing writer returned no error")
	}
	t.Log(err)
}
