package sidecar

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/durable-go/durable/internal/checked"
	"github.com/durable-go/durable/internal/errs"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

func TestPerm(t *testing.T) {
	for _, tc := range []struct{ data, want fs.FileMode }{
		{0o600, 0o600}, {0o644, 0o644}, {0o640, 0o640}, {0o660, 0o660},
		{0o666, 0o666}, {0o620, 0o660}, {0o602, 0o606}, {0o400, 0o600},
		{0o000, 0o600}, {0o755, 0o644}, {0o4755, 0o644},
		{fs.ModeDir | 0o700, 0o600}, {fs.ModeDir | 0o755, 0o600},
		{fs.ModeDir | 0o770, 0o660}, {fs.ModeDir | fs.ModeSetgid | 0o2770, 0o660},
		{fs.ModeDir | 0o777, 0o666}, {fs.ModeDir | fs.ModeSticky | 0o777, 0o600},
		{fs.ModeDir | fs.ModeSticky | 0o770, 0o660},
	} {
		if got := Perm(tc.data); got != tc.want {
			t.Errorf("Perm(%v) = %v, want %v", tc.data, got, tc.want)
		}
	}
}

func mustT(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func memWith(t *testing.T) *vfs.MemFS {
	m := vfs.NewMem()
	mustT(t, m.Mkdir("/d", 0o755))
	mustT(t, vfs.WriteFile(m, "/d/data", []byte("data"), 0o660))
	mustT(t, vfs.WriteFile(m, "/outside", []byte("precious"), 0o644))
	return m
}

func wantUnsafe(t *testing.T, err error, name string) {
	t.Helper()
	if !errors.Is(err, errs.ErrUnsafeFile) {
		t.Fatalf("got %v, want an error wrapping ErrUnsafeFile", err)
	}
	if !strings.Contains(err.Error(), name) {
		t.Errorf("error %q does not name %s", err, name)
	}
}

func TestOpenRefuses(t *testing.T) {
	m := memWith(t)
	mustT(t, m.Symlink("/outside", "/d/link"))
	mustT(t, m.Mkdir("/d/dir", 0o755))
	mustT(t, m.Link("/outside", "/d/hard"))

	_, _, err := Open(m, "/d/link", os.O_RDONLY)
	wantUnsafe(t, err, "/d/link")
	if !errors.Is(err, syscall.ELOOP) {
		t.Errorf("a link: %v does not wrap ELOOP", err)
	}
	_, _, err = Open(m, "/d/dir", os.O_RDONLY)
	wantUnsafe(t, err, "/d/dir")
	_, _, err = Open(m, "/d/dir", os.O_RDWR)
	wantUnsafe(t, err, "/d/dir")
	_, _, err = OpenSingle(m, "/d/hard", os.O_RDWR)
	wantUnsafe(t, err, "/d/hard")

	// A hard link may be read: a backup is one while the file is not yet
	// replaced.
	f, _, err := Open(m, "/d/hard", os.O_RDONLY)
	mustT(t, err)
	f.Close()
	if _, err := ReadFile(m, "/d/link"); !errors.Is(err, errs.ErrUnsafeFile) {
		t.Errorf("ReadFile of a link: %v", err)
	}
	if _, _, err := Open(m, "/d/missing", os.O_RDONLY); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

func TestOpenLockRefusesPlanted(t *testing.T) {
	for _, plant := range []string{"dangling", "link", "hard", "dir"} {
		t.Run(plant, func(t *testing.T) {
			m := memWith(t)
			switch plant {
			case "dangling":
				mustT(t, m.Symlink("/nologin", "/d/data.lock"))
			case "link":
				mustT(t, m.Symlink("/outside", "/d/data.lock"))
			case "hard":
				mustT(t, m.Link("/outside", "/d/data.lock"))
			case "dir":
				mustT(t, m.Mkdir("/d/data.lock", 0o755))
			}
			before := m.Dump()
			_, err := OpenLock(m, "/d/data.lock", "/d/data", os.O_RDWR)
			wantUnsafe(t, err, "/d/data.lock")
			if after := m.Dump(); after != before {
				t.Errorf("the filesystem changed:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

// TestOpenLockOwner: a lock made by root for a user's file is the user's,
// with the mode the file's, and never seen otherwise: no temp file is
// left, and the file had its owner before it had its name.
func TestOpenLockOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file away is for root: run as root")
	}
	m := memWith(t)
	f, err := m.OpenFile("/d/data", os.O_RDWR, 0)
	mustT(t, err)
	mustT(t, f.Chown(1000, 1001))
	mustT(t, f.Chmod(0o660))
	mustT(t, f.Close())
	m.SetUmask(0o077)
	var seen []string
	m.SetHook(func(op vfs.Op, name string) {
		if op == vfs.OpLink && name == "/d/data.lock" {
			if fi, err := m.Lstat(name); err == nil {
				uid, gid, _ := vfs.Owner(fi)
				seen = append(seen, fmt.Sprintf("%v %d:%d", fi.Mode(), uid, gid))
			}
		}
	})
	l, err := OpenLock(m, "/d/data.lock", "/d/data", os.O_RDWR)
	mustT(t, err)
	l.Close()
	m.SetHook(nil)
	fi, err := m.Lstat("/d/data.lock")
	mustT(t, err)
	uid, gid, _ := vfs.Owner(fi)
	if uid != 1000 || gid != 1001 || fi.Mode().Perm() != 0o660 {
		t.Errorf("lock file %v %d:%d, want -rw-rw---- 1000:1001", fi.Mode(), uid, gid)
	}
	if len(seen) != 1 || seen[0] != "-rw-rw---- 1000:1001" {
		t.Errorf("when its name appeared the lock file was %v", seen)
	}
	ents, err := m.ReadDir("/d")
	mustT(t, err)
	if len(ents) != 2 {
		t.Errorf("left in the directory: %v", ents)
	}

	// A lock file root made before (an older version made them 0600 and
	// root's) is given to the file's owner at the next open by root.
	mustT(t, m.Remove("/d/data.lock"))
	mustT(t, vfs.WriteFile(m, "/d/data.lock", nil, 0o600))
	l, err = OpenLock(m, "/d/data.lock", "/d/data", os.O_RDWR)
	mustT(t, err)
	l.Close()
	fi, _ = m.Lstat("/d/data.lock")
	if uid, gid, _ := vfs.Owner(fi); uid != 1000 || gid != 1001 || fi.Mode().Perm() != 0o660 {
		t.Errorf("old lock file after root's open: %v %d:%d, want -rw-rw---- 1000:1001", fi.Mode(), uid, gid)
	}

	// One that someone else owns is left alone.
	f, err = m.OpenFile("/d/data.lock", os.O_RDWR, 0)
	mustT(t, err)
	mustT(t, f.Chown(555, 555))
	mustT(t, f.Chmod(0o600))
	f.Close()
	l, err = OpenLock(m, "/d/data.lock", "/d/data", os.O_RDWR)
	mustT(t, err)
	l.Close()
	fi, _ = m.Lstat("/d/data.lock")
	if uid, _, _ := vfs.Owner(fi); uid != 555 || fi.Mode().Perm() != 0o600 {
		t.Errorf("someone else's lock file changed: %v uid %d", fi.Mode(), uid)
	}
}

func TestMkdir(t *testing.T) {
	m := memWith(t)
	mustT(t, Mkdir(m, "/d/evidence", "/d"))
	fi, err := m.Lstat("/d/evidence")
	mustT(t, err)
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("made %v, want a 0700 directory", fi.Mode())
	}
	mustT(t, Mkdir(m, "/d/evidence", "/d")) // exists: fine
	mustT(t, m.Symlink("/", "/d/ev2"))
	wantUnsafe(t, Mkdir(m, "/d/ev2", "/d"), "/d/ev2")
	if err := Mkdir(m, "/d/data", "/d"); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("a file in the way: %v", err)
	}
}

// TestMkdirDurable: the directory Mkdir makes, or finds not yet synced in
// its parent, survives any crash after it returns, with its mode.
func TestMkdirDurable(t *testing.T) {
	for _, found := range []bool{false, true} {
		m := vfs.NewMem()
		mustT(t, m.Mkdir("/d", 0o700))
		m.SyncAll()
		if found {
			mustT(t, m.Mkdir("/d/evidence", 0o700)) // another writer's, unsynced
		}
		mustT(t, Mkdir(m, "/d/evidence", "/d"))
		for seed := range uint64(20) {
			fi, err := m.Crash(seed).Lstat("/d/evidence")
			if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
				t.Fatalf("found=%v seed %d: after a crash: %v, %v", found, seed, fi, err)
			}
		}
	}
}

// linkedByCreator leaves a lock file as create has it between its link
// and its remove: data.lock, and its creator's temp name for the same
// file. It skips where files have no identity to compare.
func linkedByCreator(t *testing.T) (dir, lock, tmp string) {
	t.Helper()
	dir = testdir.New(t)
	lock = dir + "/data.lock"
	tmp = dir + "/" + TempName("data.lock")
	mustT(t, os.WriteFile(tmp, nil, 0o600))
	mustT(t, os.Link(tmp, lock))
	if fi, _ := os.Stat(lock); fi == nil {
		t.Fatal("no lock")
	} else if _, ok := checked.IDOf(fi); !ok {
		t.Skip("no file identity on this platform")
	}
	return dir, lock, tmp
}

// TestOpenSingleDropsCreatorsTemp: create links its temp into place and
// then removes it; an opener that comes between the two, or after a
// creator killed there, finds the lock with two names. The second name is
// the creator's own temp, the same file, so it is removed and the lock
// opens; a file that has a name of any other shape is still refused, and
// so is one whose temp-shaped name is another file.
func TestOpenSingleDropsCreatorsTemp(t *testing.T) {
	fsys := vfs.OS{}
	dir, lock, tmp := linkedByCreator(t)
	f, _, err := OpenSingle(fsys, lock, os.O_RDWR)
	if err != nil {
		t.Fatalf("a lock whose other name is its creator's temp: %v", err)
	}
	f.Close()
	if _, err := os.Lstat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the creator's temp is still there: %v", err)
	}

	// Another shape of name: refused, nothing removed.
	other := dir + "/data.lock.bak"
	mustT(t, os.Link(lock, other))
	_, _, err = OpenSingle(fsys, lock, os.O_RDWR)
	wantUnsafe(t, err, lock)
	if _, err := os.Lstat(other); err != nil {
		t.Errorf("a name of another shape was removed: %v", err)
	}
	mustT(t, os.Remove(other))

	// A temp-shaped name of the right shape but another file, plus a
	// third name: refused, and the other file is left alone.
	decoy := dir + "/" + TempName("data.lock")
	mustT(t, os.WriteFile(decoy, []byte("x"), 0o600))
	mustT(t, os.Link(lock, dir+"/elsewhere"))
	_, _, err = OpenSingle(fsys, lock, os.O_RDWR)
	wantUnsafe(t, err, lock)
	if _, err := os.Lstat(decoy); err != nil {
		t.Errorf("a temp-shaped name of another file was removed: %v", err)
	}
	for _, n := range []string{"data.lock", "data.lock.tmp", "." + "data.lock" + ".abc.tmp", TempName("data.lock"), TempName("other.lock")} {
		if got, want := isTempOf(n, "data.lock"), strings.HasPrefix(n, ".data.lock.") && len(n) == len(TempName("data.lock")); got != want {
			t.Errorf("isTempOf(%q) = %v, want %v", n, got, want)
		}
	}
}

// creatorDone is the OS, where the creator of the lock removes its temp
// name just as an opener that found two names looks at the directory.
type creatorDone struct {
	vfs.OS
	tmp string
}

func (c creatorDone) ReadDir(name string) ([]fs.DirEntry, error) {
	os.Remove(c.tmp)
	return c.OS.ReadDir(name)
}

// TestOpenSingleCreatorFinishedMeanwhile: an opener that finds the lock
// with two names, and then no temp to remove because its creator removed
// it meanwhile, opens the lock: it has one name by then. (Several
// processes starting on a new journal failed here, the first to open the
// lock file refusing it as hard-linked.)
func TestOpenSingleCreatorFinishedMeanwhile(t *testing.T) {
	dir, lock, tmp := linkedByCreator(t)
	f, _, err := OpenSingle(creatorDone{tmp: tmp}, lock, os.O_RDWR)
	if err != nil {
		t.Fatalf("a lock whose creator removed its temp during the open: %v", err)
	}
	f.Close()

	// A planted second name is still refused.
	other := dir + "/data.lock.bak"
	mustT(t, os.Link(lock, other))
	_, _, err = OpenSingle(creatorDone{tmp: tmp}, lock, os.O_RDWR)
	wantUnsafe(t, err, lock)
}
