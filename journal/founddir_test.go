package journal

import (
	"context"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// A log directory found unsynced (another process made it and was killed
// before syncing its parent) must be made durable before an append is
// acknowledged: the segment's directory fsync alone leaves the directory's
// own name to chance.
func TestCrashFoundDirectory(t *testing.T) {
	for _, dirs := range [][]string{{"/logs"}, {"/var", "/var/app", "/var/app/log"}} {
		m := vfs.NewMem()
		for _, d := range dirs {
			if err := m.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		dir := dirs[len(dirs)-1]
		j, err := Open(dir, &Options{FS: m, SegmentSize: 4096})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := j.Append(context.Background(), []byte("acknowledged")); err != nil {
			t.Fatal(err)
		}
		for seed := range uint64(20) {
			c := m.Crash(seed)
			r, err := Open(dir, &Options{FS: c, SegmentSize: 4096, ReadOnly: true})
			if err != nil {
				t.Fatalf("seed %d: the log is gone after a crash: %v\n%s", seed, err, c.Dump())
			}
			if r.Size() != 1 {
				t.Fatalf("seed %d: %d records after a crash, want the acknowledged one\n%s", seed, r.Size(), c.Dump())
			}
			r.Close()
		}
		j.Close()
	}
}
