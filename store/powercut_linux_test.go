package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/store"
)

type cutDoc struct {
	V   int    `json:"v"`
	Pad string `json:"pad"`
}

// TestPowerCutBackups cuts the power (a loop-mounted ext4 or xfs shut down
// without flushing its log) under a store that keeps one backup, mid-work,
// and mounts it again. The file must hold a complete version no older than
// the last one acknowledged before the cut, and name.bak.1 the version
// before it (or, when the cut came between the rotation and the publish,
// the same). ext4 and xfs keep directory changes in one order
// (vfs.OrderedDirs), so the rotation takes no directory fsync of its own
// there: this checks that the order holds, that the new version's rename
// never lands without the rotation before it.
func TestPowerCutBackups(t *testing.T) {
	n := testdir.Rounds(30, 10, 4)
	seed := uint64(time.Now().UnixNano())
	t.Logf("crash timing seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 23))
	crashtest.ForEachLoop(t, 64, func(t *testing.T, m *crashtest.Mount) {
		path := filepath.Join(m.Dir, "doc.json")
		pad := strings.Repeat("x", 64<<10)
		bad := 0
		for round := range n {
			s, err := store.Open(path, &store.Options[cutDoc]{Backups: 1})
			if err != nil {
				t.Fatalf("round %d: open: %v", round, err)
			}
			var acked atomic.Int64
			acked.Store(-1)
			stopped := make(chan error, 1)
			go func() {
				for {
					var v int
					_, err := s.Update(context.Background(), func(d *cutDoc) error {
						d.V++
						d.Pad, v = pad, d.V
						return nil
					})
					if err != nil {
						stopped <- err
						return
					}
					acked.Store(int64(v))
				}
			}()
			for acked.Load() < 0 {
				time.Sleep(100 * time.Microsecond)
			}
			if rng.IntN(2) == 0 {
				// Right after an ack, where a fsync that has not
				// landed yet is sure to show.
				for a := acked.Load(); acked.Load() == a; {
				}
			} else {
				time.Sleep(time.Duration(rng.IntN(20000)) * time.Microsecond)
			}
			last := acked.Load() // acknowledged before the cut
			if err := m.Shutdown(); err != nil {
				t.Fatal(err)
			}
			<-stopped
			// A Store has no Close: its lock file is closed once it is
			// unreachable, and the mount cannot go before.
			s = nil
			remountWhenFree(t, m)
			if why := checkCut(path, int(last)); why != "" {
				bad++
				t.Errorf("round %d (last ack %d): %s", round, last, why)
			}
		}
		t.Logf("%s: %d power cuts, %d broken", m.FSType, n, bad)
	})
}

// remountWhenFree remounts m once the stores of the round are collected
// and their lock files closed.
func remountWhenFree(t *testing.T, m *crashtest.Mount) {
	t.Helper()
	var err error
	for range 200 {
		runtime.GC()
		if err = m.Remount(); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal(err)
}

// checkCut says what is wrong with the store's file and its backup after
// a cut, or "".
func checkCut(path string, lastAck int) string {
	read := func(name string) (cutDoc, error) {
		var d cutDoc
		data, err := os.ReadFile(name)
		if err != nil {
			return d, err
		}
		if err := json.Unmarshal(data, &d); err != nil {
			return d, fmt.Errorf("%s does not parse: %w", filepath.Base(name), err)
		}
		return d, nil
	}
	d, err := read(path)
	if err != nil {
		return err.Error()
	}
	if d.V < lastAck {
		return fmt.Sprintf("the file holds version %d, version %d was acknowledged", d.V, lastAck)
	}
	if d.V <= 1 {
		return ""
	}
	b, err := read(durable.BackupName(path, 1))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("the file holds version %d, and there is no backup", d.V)
	case err != nil:
		return err.Error()
	case b.V != d.V-1 && b.V != d.V:
		// d.V: the cut came after the rotation, before the publish.
		return fmt.Sprintf("the file holds version %d, its backup version %d, not %d", d.V, b.V, d.V-1)
	}
	return ""
}
