package jsonl_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/jsonl"
)

// Power cuts under the tail check: a child appends records through
// jsonl.Append with a batch of powerBatch bytes, so that once the file has
// grown past three of them every Open (the child's own, and the check
// after each cut) reads only its end. A loop-mounted ext4 or xfs is shut
// down without flushing its log at random moments and mounted again; then
// jsonl.Open must succeed, and every line of the whole file (read without
// jsonl) must be an intact record, every acknowledged one there once.
const powerBatch = 4096

// TestPowerCutChild is the appender of TestPowerCutTail; run directly, it
// does nothing.
func TestPowerCutChild(t *testing.T) {
	cfg, ok, err := crashtest.LogWriterFromEnv()
	if !ok {
		t.Skip("the appender child of TestPowerCutTail; runs only when it starts it")
	}
	if err != nil {
		t.Fatal(err)
	}
	f, err := jsonl.Open(cfg.Path, jsonl.WithBatch(nil, powerBatch))
	if err != nil {
		t.Fatal(err)
	}
	err = crashtest.RunLogWriter(context.Background(), os.Stdout, cfg, crashtest.ValueSink{W: f})
	t.Fatal(err) // runs until killed
}

// tailTarget reads the log after a cut: jsonl.Open with the small batch,
// then every line of the file as a plain line reader would.
type tailTarget struct {
	path   string
	opened int // Opens that read only the end
}

func (p *tailTarget) Read(ctx context.Context) (crashtest.LogContents, error) {
	if _, err := os.Stat(p.path); errors.Is(err, fs.ErrNotExist) {
		return crashtest.LogContents{}, nil
	}
	var failures []string
	repaired := false
	f, err := jsonl.Open(p.path, jsonl.WithBatch(nil, powerBatch))
	if err != nil {
		failures = append(failures, "jsonl.Open: "+err.Error())
	} else {
		repaired = f.Report().CutBytes > 0
		if f.Report().CheckedFrom > 0 {
			p.opened++
		}
		if err := f.Close(); err != nil {
			failures = append(failures, "jsonl close: "+err.Error())
		}
	}
	c, err := crashtest.FileLog(p.path).Read(ctx)
	c.Failures = append(c.Failures, failures...)
	c.Repaired = repaired
	return c, err
}

func (p *tailTarget) Remove() error { return crashtest.FileLog(p.path).Remove() }

func TestPowerCutTail(t *testing.T) {
	rounds := testdir.Rounds(40, 12, 4)
	crashtest.ForEachLoop(t, 64, func(t *testing.T, m *crashtest.Mount) {
		target := &tailTarget{path: filepath.Join(m.Dir, "log.jsonl")}
		cfg := crashtest.LogWriterConfig{Kind: "jsonl", Path: target.path, MaxPause: crashtest.DefaultLogCutPause / 5}
		spawn := func(cfg crashtest.LogWriterConfig) *exec.Cmd {
			return crashtest.LogCommand(cfg, os.Args[0], testdir.Args("TestPowerCutChild")...)
		}
		tally, err := crashtest.LogPowerCutRounds(context.Background(), m, rounds, cfg, spawn, target, func(r crashtest.LogRound) {
			if !r.Verdict.OK {
				t.Errorf("%v", r)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v; %d of the checks read only the end of the file", tally, target.opened)
		if tally.Violations() > 0 {
			t.Errorf("%d of %d power cuts broke the promise", tally.Violations(), tally.Rounds)
		}
		if target.opened == 0 {
			t.Errorf("no check after a cut read only the end (the file never grew past %d bytes)", 3*powerBatch)
		}
	})
}
