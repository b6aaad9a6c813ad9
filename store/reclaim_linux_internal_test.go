package store

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
)

// The backup a rotation drops is freed after the update (freeLater), not
// in the rename: once that is done, no descriptor of a dropped version is
// left open, and the backups hold the versions they should.
func TestDroppedBackupsAreFreed(t *testing.T) {
	for _, backups := range []int{1, 3} {
		dir := testdir.New(t)
		path := filepath.Join(dir, "doc.json")
		s, err := Open(path, &Options[map[string]int]{Backups: backups})
		if err != nil {
			t.Fatal(err)
		}
		const updates = 12
		for i := range updates {
			if _, err := s.Update(context.Background(), func(m *map[string]int) error {
				if *m == nil {
					*m = map[string]int{}
				}
				(*m)["n"] = i
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		s.awaitFreed()
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd:", err)
		}
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
			if err == nil && strings.HasPrefix(l, path+".bak.") && strings.HasSuffix(l, " (deleted)") {
				t.Errorf("backups=%d: a dropped version is still held: %s", backups, l)
			}
		}
		for k := 1; k <= backups; k++ {
			b, err := os.ReadFile(backupName(path, k))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]int
			if err := json.Unmarshal(b, &m); err != nil || m["n"] != updates-1-k {
				t.Errorf("backups=%d: bak.%d holds %s (%v), want n=%d", backups, k, b, err, updates-1-k)
			}
		}
	}
}
