package store_test

import (
	"fmt"
	"testing"

	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"
)

// A kill after the rotation linked name.bak.1 and before the replace leaves
// the file and bak.1 one inode. The next update must neither leave a temp
// link behind (rename between two names of one file does nothing) nor push
// a duplicate up the chain, and every crash state keeps good backups.
func TestCrashBackupAlreadyLinked(t *testing.T) {
	for _, backups := range []int{1, 3} {
		t.Run(fmt.Sprintf("backups=%d", backups), func(t *testing.T) {
			const name = "/app/config.json"
			v0, v1, v2, v3 := version(t, 0), version(t, 1), version(t, 2), version(t, 3)
			m := memWith(t, map[string]string{name: v2, name + ".bak.2": v1, name + ".bak.3": v0})
			if err := m.Link(name, name+".bak.1"); err != nil {
				t.Fatal(err)
			}
			m.SyncAll()
			during, after, err := crashEveryStep(m, func(fsys vfs.FS) error {
				s, err := store.Open(name, &store.Options[Config]{FS: fsys, Backups: backups})
				if err != nil {
					return err
				}
				_, err = s.Update(ctx, func(c *Config) error { c.Name, c.Port = "v3", 3; return nil })
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if tmp := tempsIn(m, "/"); len(tmp) > 0 {
				t.Fatalf("temp files left: %v\n%s", tmp, m.Dump())
			}
			checkStates(t, during, func(s crashState) error {
				main := readString(t, s.fs, name)
				if main != v2 && main != v3 {
					return fmt.Errorf("file is %s, want v2 or v3", nameOf(t, main))
				}
				if b := readString(t, s.fs, name+".bak.1"); b != v2 {
					return fmt.Errorf("bak.1 is %s, want v2", nameOf(t, b))
				}
				return nil
			})
			checkStates(t, after, func(s crashState) error {
				want := []string{v3, v2, v1, v0}[:backups+1]
				for i, w := range want {
					p := name
					if i > 0 {
						p = fmt.Sprintf("%s.bak.%d", name, i)
					}
					if got := readString(t, s.fs, p); got != w {
						return fmt.Errorf("%s is %s, want %s", p, nameOf(t, got), nameOf(t, w))
					}
				}
				if tmp := tempsIn(s.fs, "/"); len(tmp) > 0 {
					return fmt.Errorf("temp files left: %v", tmp)
				}
				return nil
			})
		})
	}
}
