package durable_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/vfs"
)

// The kernel's protected_symlinks rule, applied by durable on the model
// too: in a sticky world-writable directory, another user's link is not
// followed, by any operation, at any hop.
func TestSharedDirLinkRuleOnModel(t *testing.T) {
	const (
		owner    = 4242 // owns the shared directory
		stranger = 4343 // plants links in it
	)
	if os.Geteuid() == owner || os.Geteuid() == stranger {
		t.Skip("the test's uids are this process's")
	}
	setup := func(t *testing.T, tmpMode fs.FileMode) *vfs.MemFS {
		m := vfs.NewMem()
		m.SetUmask(0)
		m.SetOwner(owner, owner)
		must(t, m.Mkdir("/tmp", tmpMode))
		m.SetOwner(0, 0)
		must(t, m.Mkdir("/etc", 0o755))
		must(t, m.Mkdir("/home", 0o755))
		must(t, vfs.WriteFile(m, "/etc/victim", []byte("keep"), 0o600))
		m.SetOwner(stranger, stranger)
		must(t, m.Symlink("../etc/victim", "/tmp/trap"))
		// A hop through a link in a directory that is not shared, to the
		// trap: the rule holds at every hop.
		must(t, m.Symlink("../tmp/trap", "/home/hop"))
		m.SetOwner(owner, owner)
		must(t, m.Symlink("../etc/victim", "/tmp/owners"))
		return m
	}
	refused := func(t *testing.T, what string, err error) {
		t.Helper()
		if !errors.Is(err, durable.ErrSymlink) || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("%s: err = %v, want ErrSymlink and fs.ErrPermission", what, err)
		}
	}
	for _, name := range []string{"/tmp/trap", "/home/hop"} {
		t.Run(name, func(t *testing.T) {
			m := setup(t, 0o777|fs.ModeSticky)
			fsOpt := durable.WithFS(m)
			refused(t, "WriteFile", durable.WriteFile(name, []byte("evil"), 0o644, fsOpt))
			refused(t, "Update", durable.Update(name, func([]byte) ([]byte, error) { return []byte("evil"), nil }, fsOpt))
			_, err := durable.Create(name, 0o644, fsOpt)
			refused(t, "Create", err)
			_, err = durable.ReadFile(name, fsOpt)
			refused(t, "ReadFile", err)
			u := durable.NewUpdater(name, fsOpt)
			refused(t, "Updater", u.Update(context.Background(), func([]byte) ([]byte, error) { return []byte("evil"), nil }))
			u.Close()
			if got, _ := vfs.ReadFile(m, "/etc/victim"); string(got) != "keep" {
				t.Fatalf("victim = %q after a refused write", got)
			}
		})
	}
	t.Run("directory owner's link", func(t *testing.T) {
		m := setup(t, 0o777|fs.ModeSticky)
		if err := durable.WriteFile("/tmp/owners", []byte("new"), 0o644, durable.WithFS(m)); err != nil {
			t.Fatal(err)
		}
		if got, _ := vfs.ReadFile(m, "/etc/victim"); string(got) != "new" {
			t.Fatalf("victim = %q, want the link followed", got)
		}
	})
	t.Run("not shared", func(t *testing.T) {
		m := setup(t, 0o777) // world-writable but not sticky
		if err := durable.WriteFile("/tmp/trap", []byte("new"), 0o644, durable.WithFS(m)); err != nil {
			t.Fatal(err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
