package durable_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/queue"
	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"
	"golang.org/x/sys/unix"
)

// Numeric ids no account needs: a writer, the file's owner, their shared
// group, and a stranger outside it.
const (
	uidWriter   = 64101
	uidOwner    = 64102
	uidStranger = 64103
	gidShared   = 64200
)

// TestOwnerChild is the child of the tests below: it replaces the file
// named in its environment as the uid it was started as.
func TestOwnerChild(t *testing.T) {
	name := os.Getenv("DURABLE_OWNER_CHILD_FILE")
	if name == "" {
		t.Skip("run by the multi-user tests")
	}
	var err error
	switch op := os.Getenv("DURABLE_OWNER_CHILD_OP"); op {
	case "write":
		err = durable.WriteFile(name, []byte("child"), 0o600)
	case "force":
		// An explicit mode is the writer's choice for its own group.
		err = durable.WriteFile(name, []byte("child"), 0o660, durable.ForcePerm())
	case "refused":
		// The name is another user's link in a shared directory.
		err = durable.WriteFile(name, []byte("child"), 0o600)
		if errors.Is(err, durable.ErrSymlink) && errors.Is(err, fs.ErrPermission) {
			err = nil
		} else {
			err = fmt.Errorf("want a refusal, got %v", err)
		}
	case "update":
		err = durable.Update(name, func([]byte) ([]byte, error) { return []byte("child"), nil })
	case "create":
		var p *durable.PendingFile
		if p, err = durable.Create(name, 0o600); err == nil {
			defer p.Cleanup()
			if _, err = p.WriteString("child"); err == nil {
				err = p.Commit()
			}
		}
	default:
		t.Fatalf("op %q", op)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// asUser runs TestOwnerChild as uid:gid with the supplementary groups.
func asUser(t *testing.T, op, name string, uid, gid int, groups ...uint32) {
	t.Helper()
	bin := testBinary(t)
	cmd := exec.Command(bin, testdir.Args("TestOwnerChild")...)
	cmd.Env = append(os.Environ(), "DURABLE_OWNER_CHILD_FILE="+name, "DURABLE_OWNER_CHILD_OP="+op)
	cmd.Dir = filepath.Dir(bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
		Uid: uint32(uid), Gid: uint32(gid), Groups: groups,
	}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s as %d:%d%v: %v\n%s", op, uid, gid, groups, err, out)
	}
}

// testBinary copies the test binary where any uid may run it.
func testBinary(t *testing.T) string {
	t.Helper()
	dir := sharedDir(t, 0o755)
	bin := filepath.Join(dir, "durable.test")
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// sharedDir is a directory other uids can reach (t.TempDir's parent is
// private to root), with mode perm.
func sharedDir(t *testing.T, perm fs.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "durable-owner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
	return dir
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as several uids (CI runs as root)")
	}
}

func ownerOf(t *testing.T, name string) (uid, gid uint32, mode fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid, fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// plant makes name with content "old", owner uid:gid and mode.
func plant(t *testing.T, name string, uid, gid int, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(name, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
}

// A member of a file's group who replaces it keeps the group (and the
// setgid bit that goes with it); someone outside the group cannot, and
// then the new group gets only what everybody else had.
func TestReplaceKeepsGroup(t *testing.T) {
	needRoot(t)
	for _, op := range []string{"write", "update", "create", "force"} {
		t.Run(op, func(t *testing.T) {
			// The group's directory: the owner's, writable by the group.
			dir := sharedDir(t, 0o770)
			if err := os.Chown(dir, uidOwner, gidShared); err != nil {
				t.Fatal(err)
			}
			cases := []struct {
				name     string
				mode     fs.FileMode
				uid, gid int
				groups   []uint32
				wantGid  uint32
				wantMode fs.FileMode
			}{
				{"member", 0o660, uidWriter, uidWriter, []uint32{gidShared}, gidShared, 0o660},
				{"member-setgid", fs.ModeSetgid | 0o770, uidWriter, uidWriter, []uint32{gidShared}, gidShared, fs.ModeSetgid | 0o770},
				{"stranger", 0o660, uidStranger, uidStranger, nil, uidStranger, 0o600},
				{"stranger-other-bits", fs.ModeSetgid | 0o664, uidStranger, uidStranger, nil, uidStranger, 0o644},
			}
			for _, c := range cases {
				if c.groups == nil {
					if op == "update" {
						continue // an Update reads the file first: it cannot
					}
					// A stranger reaches the directory as "other".
					os.Chmod(dir, 0o777)
				}
				name := filepath.Join(dir, c.name)
				if op == "force" {
					c.wantMode = 0o660 &^ currentUmask()
				}
				plant(t, name, uidOwner, gidShared, c.mode)
				tagged := unix.Setxattr(name, "user.tag", []byte("t"), 0) == nil
				asUser(t, op, name, c.uid, c.gid, c.groups...)
				uid, gid, mode := ownerOf(t, name)
				if uid != uint32(c.uid) || gid != c.wantGid || mode != c.wantMode {
					t.Errorf("%s: %d:%d %v, want %d:%d %v", c.name, uid, gid, mode, c.uid, c.wantGid, c.wantMode)
				}
				if b, _ := os.ReadFile(name); string(b) != "child" {
					t.Errorf("%s: content %q", c.name, b)
				}
				// A member reads the file, so it keeps its attributes;
				// a stranger who cannot read them cannot keep them, and
				// that does not fail its write.
				if tagged && c.groups != nil {
					buf := make([]byte, 8)
					if n, err := unix.Getxattr(name, "user.tag", buf); err != nil || string(buf[:n]) != "t" {
						t.Errorf("%s: user.tag = %q, %v", c.name, buf[:max(n, 0)], err)
					}
				}
			}
		})
	}
}

// A setuid or setgid file its owner replaces keeps its bits, although
// the kernel clears them on a write by anyone but root.
func TestOwnerKeepsSetuidBits(t *testing.T) {
	needRoot(t)
	dir := sharedDir(t, 0o777)
	for i, want := range []fs.FileMode{fs.ModeSetuid | 0o755, fs.ModeSetgid | 0o750, fs.ModeSetuid | fs.ModeSetgid | 0o750} {
		name := filepath.Join(dir, fmt.Sprint("tool", i))
		plant(t, name, uidWriter, uidWriter, want)
		asUser(t, "write", name, uidWriter, uidWriter)
		if _, _, mode := ownerOf(t, name); mode != want {
			t.Errorf("mode %v, want %v kept", mode, want)
		}
	}
}

// ForcePerm (durable write --mode) sets the mode, and root still keeps
// the owner and the group.
func TestRootForcePermKeepsOwner(t *testing.T) {
	needRoot(t)
	dir := sharedDir(t, 0o755)
	name := filepath.Join(dir, "f")
	plant(t, name, uidOwner, gidShared, 0o640)
	if err := durable.WriteFile(name, []byte("new"), 0o600, durable.ForcePerm()); err != nil {
		t.Fatal(err)
	}
	if uid, gid, mode := ownerOf(t, name); uid != uidOwner || gid != gidShared || mode != 0o600 {
		t.Errorf("%d:%d %v, want %d:%d 0600", uid, gid, mode, uidOwner, gidShared)
	}
}

// In a sticky world-writable directory, root follows only its own link
// or the directory owner's, never a link another user planted.
func TestRootRefusesPlantedLink(t *testing.T) {
	needRoot(t)
	shared := sharedDir(t, 0o777|fs.ModeSticky)
	if err := os.Chmod(shared, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	private := sharedDir(t, 0o700)
	victim := filepath.Join(private, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(shared, "state.json")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, uidStranger, uidStranger); err != nil {
		t.Fatal(err)
	}
	// A log or queue directory planted the same way.
	dirLink := filepath.Join(shared, "log")
	if err := os.Symlink(private, dirLink); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(dirLink, uidStranger, uidStranger); err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"WriteFile": func() error { return durable.WriteFile(link, []byte("evil"), 0o600) },
		"Update": func() error {
			return durable.Update(link, func([]byte) ([]byte, error) { return []byte("evil"), nil })
		},
		"ReadFile":  func() error { _, err := durable.ReadFile(link); return err },
		"CleanTemp": func() error { _, err := durable.CleanTemp(dirLink, 0); return err },
		"store.Open": func() error {
			_, err := store.Open[map[string]int](link, nil)
			return err
		},
		"jsonl.Open": func() error {
			f, err := jsonl.Open(link, nil)
			if err == nil {
				f.Close()
			}
			return err
		},
		"jsonl.Repair": func() error { _, err := jsonl.Repair(link, nil); return err },
		"journal.Open": func() error {
			j, err := journal.Open(dirLink, nil)
			if err == nil {
				j.Close()
			}
			return err
		},
		"queue.Open": func() error {
			q, err := queue.Open(dirLink, nil)
			if err == nil {
				q.Close()
			}
			return err
		},
	}
	for what, op := range ops {
		err := op()
		if !errors.Is(err, durable.ErrSymlink) || !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), shared) {
			t.Errorf("%s: err = %v, want ErrSymlink, fs.ErrPermission and the name", what, err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatalf("victim = %q", b)
	}
	if entries, _ := os.ReadDir(private); len(entries) != 1 {
		t.Fatalf("%d entries in the private directory, want only the victim", len(entries))
	}
	// Root's own link is followed, as is one of the directory's owner.
	for _, owner := range []int{0, uidOwner} {
		if err := os.Chown(shared, owner, owner); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(link, owner, owner); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint("by ", owner)
		if err := durable.WriteFile(link, []byte(want), 0o600); err != nil {
			t.Fatalf("link of uid %d: %v", owner, err)
		}
		if b, _ := os.ReadFile(victim); string(b) != want {
			t.Fatalf("victim = %q, want %q through the link", b, want)
		}
	}
}

// The rule holds for any caller, not only root: a user in /tmp follows
// its own links and the directory owner's, not a third user's.
func TestUserRefusesPlantedLink(t *testing.T) {
	needRoot(t)
	shared := sharedDir(t, 0o777|fs.ModeSticky)
	if err := os.Chmod(shared, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	// The user's own directory, where the links lead.
	home := sharedDir(t, 0o755)
	if err := os.Chown(home, uidWriter, uidWriter); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(home, "data")
	plant(t, target, uidWriter, uidWriter, 0o600)
	link := filepath.Join(shared, "data")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, uidStranger, uidStranger); err != nil {
		t.Fatal(err)
	}
	asUser(t, "refused", link, uidWriter, uidWriter)
	if b, _ := os.ReadFile(target); string(b) != "old" {
		t.Fatalf("target = %q after a refused write", b)
	}
	if err := os.Lchown(link, uidWriter, uidWriter); err != nil {
		t.Fatal(err)
	}
	asUser(t, "write", link, uidWriter, uidWriter)
	if b, _ := os.ReadFile(target); string(b) != "child" {
		t.Fatalf("target = %q, want the user's own link followed", b)
	}
}

// Where the filesystem makes no hard links, Backup copies the old version;
// root's copy of a user's file is the user's, as the link would have been.
func TestRootBackupCopyKeepsOwner(t *testing.T) {
	needRoot(t)
	dir := sharedDir(t, 0o755)
	name := filepath.Join(dir, "cfg.json")
	if err := os.WriteFile(name, []byte("v1"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(name, 64101, 64200); err != nil {
		t.Fatal(err)
	}
	noLinks := vfs.Inject(vfs.OS{}, vfs.Fault{Ops: vfs.OpLink, N: 1, Err: syscall.EPERM, Sticky: true})
	if err := durable.WriteFile(name, []byte("v2"), 0o600, durable.Backup(), durable.WithFS(noLinks)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name + ".bak.1"); string(b) != "v1" {
		t.Fatalf(".bak holds %q, want v1", b)
	}
	for _, f := range []string{name, name + ".bak.1"} {
		if uid, gid, _ := ownerOf(t, f); uid != 64101 || gid != 64200 {
			t.Errorf("%s is owned by %d:%d, want 64101:64200", f, uid, gid)
		}
	}
}
