package crashtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
)

// newLoop mounts a fresh fstype image for a test, or skips saying why it
// cannot.
func newLoop(t *testing.T, fstype string) *Mount {
	t.Helper()
	if ok, why := PowerCutSupported(); !ok {
		t.Skip("no power cuts: " + why)
	}
	if ok, why := FSSupported(fstype); !ok {
		t.Skip("no power cuts on " + fstype + ": " + why)
	}
	m, err := NewLoop(testdir.New(t), fstype, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	return m
}

func TestMountLifecycle(t *testing.T) {
	for _, fstype := range []string{"ext4", "xfs"} {
		t.Run(fstype, func(t *testing.T) {
			m := newLoop(t, fstype)
			synced := filepath.Join(m.Dir, "synced")
			if err := seed(synced, 1, 1000); err != nil {
				t.Fatal(err)
			}
			// Never synced: a power cut loses it.
			if err := os.WriteFile(filepath.Join(m.Dir, "unsynced"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := m.Shutdown(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.ReadFile(synced); err == nil {
				t.Error("read from a shut-down filesystem succeeded")
			}
			if err := m.Remount(); err != nil {
				t.Fatal(err)
			}
			if v := Check(synced, 1); !v.OK {
				t.Errorf("synced file after the cut: %v", v)
			}
			if _, err := os.Stat(filepath.Join(m.Dir, "unsynced")); err == nil {
				t.Error("the unsynced file survived the power cut: the cut flushed the log")
			}
			img, dir := m.image, m.Dir
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{img, dir} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s remains after Close: %v", p, err)
				}
			}
			if err := m.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

// TestPowerCutRoundsCatchNaive is the harness's own check: a writer that
// never fsyncs must be caught by a few power cuts, or the cuts prove
// nothing. The durable writer must pass the same rounds.
func TestPowerCutRoundsCatchNaive(t *testing.T) {
	m := newLoop(t, "ext4")
	for _, durable := range []bool{false, true} {
		cfg := WriterConfig{Path: filepath.Join(m.Dir, "state.json"), Durable: durable, MaxPause: DefaultCutPause}
		if durable {
			cfg.Path = filepath.Join(m.Dir, "durable.json")
		}
		tally, err := PowerCutRounds(context.Background(), m, 4, spawner(cfg), cfg.Path, func(r Round) {
			t.Logf("%s: %v", cfg.Name(), r)
		}, WithSeed(2))
		if err != nil {
			t.Fatal(err)
		}
		if tally.Rounds != 4 {
			t.Errorf("%s: %d rounds, want 4", cfg.Name(), tally.Rounds)
		}
		if durable && tally.Violations() != 0 {
			t.Errorf("durable.WriteFile broke the promise: %v", tally)
		}
		if !durable && tally.Violations() == 0 {
			t.Errorf("os.WriteFile survived every power cut: the harness catches nothing (%v)", tally)
		}
	}
}
