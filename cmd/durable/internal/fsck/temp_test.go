package fsck

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
)

// TestTempRule checks the rule for temp files against the real process
// scan and the clock, without the test hook.
func TestTempRule(t *testing.T) {
	root := testdir.New(t)
	tmp := filepath.Join(root, ".x.json.abcdefghijkl.tmp")
	write(t, tmp, "x", 0o644)
	kind := func(o Options) Kind {
		t.Helper()
		rep, err := Check(context.Background(), []string{root}, &o)
		if err != nil || len(rep.Findings) != 1 {
			t.Fatalf("%v %s", err, dump(rep))
		}
		return rep.Findings[0].Kind
	}
	// Just written: too young to judge anywhere.
	if k := kind(Options{}); k != ActiveTemp {
		t.Errorf("a fresh temp file: %s", k)
	}
	of := scanOpenFiles()
	if of.ok && runtime.GOOS == "linux" {
		// Past the grace but not the hour: gone only if the scan sees
		// every process of ours.
		k := kind(Options{Now: func() time.Time { return time.Now().Add(2 * DefaultGrace) }})
		if of.hidden[uint32(os.Getuid())] == 0 && k != OrphanedTemp {
			t.Errorf("a closed temp file past the grace: %s", k)
		}
		// Held open, it is active however old.
		f, err := os.Open(tmp)
		if err != nil {
			t.Fatal(err)
		}
		if k := kind(Options{Now: later}); k != ActiveTemp && of.hidden[uint32(os.Getuid())] == 0 {
			t.Errorf("an open temp file: %s", k)
		}
		f.Close()
	}
	// Older than --older-than: orphaned everywhere.
	if k := kind(Options{Now: later}); k != OrphanedTemp {
		t.Errorf("an old temp file: %s", k)
	}
}
