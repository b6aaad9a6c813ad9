package vfs_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

func TestHookReportsEveryMutation(t *testing.T) {
	m := vfs.NewMem()
	var got []string
	m.SetHook(func(op vfs.Op, name string) { got = append(got, op.String()+" "+name) })

	must(t, m.Mkdir("/d", 0o755))
	f, err := m.OpenFile("/d/f", os.O_RDWR|os.O_CREATE, 0o644)
	must(t, err)
	_, err = f.Write([]byte("abc"))
	must(t, err)
	_, err = f.WriteAt([]byte("z"), 5)
	must(t, err)
	must(t, f.Truncate(2))
	must(t, f.Chmod(0o600))
	must(t, f.Chown(1, 1))
	must(t, f.Sync())
	_, err = f.ReadAt(make([]byte, 1), 0) // reads do not fire
	must(t, err)
	_, err = f.Seek(0, 0)
	must(t, err)
	_, err = f.Stat()
	must(t, err)
	must(t, f.Close()) // nor does Close
	must(t, m.Rename("/d/f", "/d/g"))
	must(t, m.Link("/d/g", "/h"))
	must(t, m.Symlink("h", "/l"))
	must(t, m.Remove("/h"))
	must(t, m.SyncDir("/d"))
	g, err := m.OpenFile("/d/g", os.O_RDONLY, 0) // opening to read does not
	must(t, err)
	must(t, g.Close())
	g, err = m.OpenFile("/d/g", os.O_WRONLY|os.O_TRUNC, 0)
	must(t, err)
	must(t, g.Close())
	for _, read := range []func() error{
		func() error { _, err := m.Stat("/d/g"); return err },
		func() error { _, err := m.Lstat("/l"); return err },
		func() error { _, err := m.ReadDir("/d"); return err },
		func() error { _, err := m.Readlink("/l"); return err },
		func() error { _, err := vfs.ReadFile(m, "/d/g"); return err },
	} {
		must(t, read())
	}
	// Failed calls change nothing and do not fire.
	if err := m.Mkdir("/d", 0o755); err == nil {
		t.Fatal("Mkdir of an existing directory succeeded")
	}
	if _, err := m.OpenFile("/d/g", os.O_CREATE|os.O_EXCL, 0o644); err == nil {
		t.Fatal("O_EXCL open of an existing file succeeded")
	}

	want := []string{
		"mkdir /d",
		"open /d/f",
		"write /d/f",
		"write /d/f",
		"truncate /d/f",
		"chmod /d/f",
		"chown /d/f",
		"sync /d/f",
		"rename /d/g",
		"link /h",
		"symlink /l",
		"remove /h",
		"syncdir /d",
		"open /d/g",
	}
	if !slices.Equal(got, want) {
		t.Errorf("hook calls:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	m.SetHook(nil)
	must(t, m.Remove("/l"))
	if len(got) != len(want) {
		t.Error("hook ran after SetHook(nil)")
	}
}

// The hook runs without the lock: it may call back into m, Crash included,
// and see the completed call.
func TestHookMayUseFS(t *testing.T) {
	m := vfs.NewMem()
	var sizes []int
	m.SetHook(func(op vfs.Op, name string) {
		if op != vfs.OpWrite {
			return
		}
		c := m.Crash(1)
		data, err := vfs.ReadFile(c, name)
		must(t, err)
		fi, err := m.Stat(name)
		must(t, err)
		if int(fi.Size()) != len(data) {
			t.Errorf("Stat says %d bytes, crash has %d", fi.Size(), len(data))
		}
		sizes = append(sizes, len(data))
	})
	f, err := m.OpenFile("/a", os.O_WRONLY|os.O_CREATE, 0o644)
	must(t, err)
	for range 3 {
		_, err := f.Write([]byte("xy"))
		must(t, err)
	}
	must(t, f.Close())
	if !slices.Equal(sizes, []int{2, 4, 6}) {
		t.Errorf("sizes seen from the hook: %v", sizes)
	}
}

func TestMemPaths(t *testing.T) {
	m := vfs.NewMem()
	writeFileT(t, m, "a", "rel")
	for _, name := range []string{"/a", "a", "./a", "/x/../a", "//a", "/./a"} {
		if got, _ := content(t, m, name); got != "rel" {
			t.Errorf("%q: %q", name, got)
		}
	}
	fi, err := m.Stat("/")
	must(t, err)
	if !fi.IsDir() || fi.Name() != "/" {
		t.Errorf("Stat(/) = %v", fi)
	}
	if err := m.Remove("/"); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("Remove(/) = %v", err)
	}
	if err := m.Mkdir("/", 0o755); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Mkdir(/) = %v", err)
	}
	if err := m.Rename("/", "/b"); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("Rename(/) = %v", err)
	}
	if _, err := m.OpenFile("", os.O_RDONLY, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenFile(\"\") = %v", err)
	}
	var pe *fs.PathError
	if _, err := m.Stat("/nope"); !errors.As(err, &pe) || pe.Path != "/nope" || pe.Op != "stat" {
		t.Errorf("Stat error %#v", err)
	}
	var le *os.LinkError
	if err := m.Rename("/nope", "/b"); !errors.As(err, &le) || le.Old != "/nope" || le.New != "/b" {
		t.Errorf("Rename error %#v", err)
	}
	if err := m.SyncDir("/a"); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("SyncDir on a file = %v, want ENOTDIR", err)
	}
}

func TestMemOwnerAndUmask(t *testing.T) {
	m := vfs.NewMem()
	m.SetOwner(1000, 100)
	m.SetUmask(0o077)
	writeFileT(t, m, "/a", "x")
	must(t, m.Mkdir("/d", 0o777))
	for name, mode := range map[string]fs.FileMode{"/a": 0o600, "/d": fs.ModeDir | 0o700} {
		fi, err := m.Stat(name)
		must(t, err)
		uid, gid, ok := vfs.Owner(fi)
		if !ok || uid != 1000 || gid != 100 || fi.Mode() != mode {
			t.Errorf("%s: %v owner %d:%d (%v)", name, fi.Mode(), uid, gid, ok)
		}
	}
	c := m.Crash(1)
	writeFileT(t, c, "/b", "x")
	fi, err := c.Stat("/b")
	must(t, err)
	if uid, _, _ := vfs.Owner(fi); uid != 1000 || fi.Mode() != 0o600 {
		t.Errorf("the crash result forgot the owner or umask: %v %d", fi.Mode(), uid)
	}
}

func TestMemBadOffsets(t *testing.T) {
	m := vfs.NewMem()
	f, err := m.OpenFile("/a", os.O_RDWR|os.O_CREATE, 0o644)
	must(t, err)
	defer f.Close()
	if _, err := f.WriteAt([]byte("x"), 1<<40); !errors.Is(err, syscall.EFBIG) {
		t.Errorf("huge WriteAt = %v", err)
	}
	// Package os reports a negative offset with an error of its own; the
	// model says EINVAL, which is what pwrite(2) would.
	if _, err := f.WriteAt([]byte("x"), -1); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("WriteAt(-1) = %v", err)
	}
	if err := f.Truncate(1 << 40); !errors.Is(err, syscall.EFBIG) {
		t.Errorf("huge Truncate = %v", err)
	}
}

func TestMemClosedMatchesEBADF(t *testing.T) {
	m := vfs.NewMem()
	f, err := m.OpenFile("/a", os.O_RDWR|os.O_CREATE, 0o644)
	must(t, err)
	must(t, f.Close())
	_, err = f.Write([]byte("x"))
	if !errors.Is(err, fs.ErrClosed) || !errors.Is(err, syscall.EBADF) {
		t.Errorf("write on closed file: %v", err)
	}
}

func TestMemDump(t *testing.T) {
	m := vfs.NewMem()
	must(t, m.Mkdir("/d", 0o750))
	writeFileT(t, m, "/d/f", "hello")
	must(t, m.Symlink("d/f", "/l"))
	m.SyncAll()
	writeFileT(t, m, "/d/f", "hello!")
	writeFileT(t, m, "/n", "")
	want := `/d/ drwxr-x---
/d/f 6 -rw-r--r-- (data not synced)
/l -> d/f
/n 0 -rw-r--r-- (entry not synced)
`
	if got := m.Dump(); got != want {
		t.Errorf("Dump:\n%s\nwant\n%s", got, want)
	}
}

func TestMemConcurrent(t *testing.T) {
	m := vfs.NewMem()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			dir := fmt.Sprintf("/g%d", g)
			if err := m.Mkdir(dir, 0o755); err != nil {
				t.Error(err)
				return
			}
			for i := range 50 {
				if err := replace(m, dir+"/f", fmt.Sprint(i), i%2 == 0); err != nil {
					t.Error(err)
					return
				}
				m.Crash(uint64(i))
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			m.Dump()
			m.SyncAll()
		}
	})
	wg.Wait()
	for g := range 8 {
		if got, _ := content(t, m, fmt.Sprintf("/g%d/f", g)); got != "49" {
			t.Errorf("g%d: %q", g, got)
		}
	}
}

func TestReadWriteFile(t *testing.T) {
	for _, fsys := range []struct {
		name string
		fs   vfs.FS
		dir  string
	}{{"mem", vfs.NewMem(), "/"}, {"os", vfs.OS{}, testdir.New(t)}} {
		t.Run(fsys.name, func(t *testing.T) {
			p := fsys.dir + string(os.PathSeparator) + "f"
			must(t, vfs.WriteFile(fsys.fs, p, []byte("first, longer"), 0o600))
			must(t, vfs.WriteFile(fsys.fs, p, []byte("second"), 0o644))
			got, err := vfs.ReadFile(fsys.fs, p)
			if err != nil || string(got) != "second" {
				t.Errorf("ReadFile = %q, %v", got, err)
			}
			if _, err := vfs.ReadFile(fsys.fs, p+"nope"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ReadFile of a missing file: %v", err)
			}
		})
	}
}

func TestOpString(t *testing.T) {
	for op, want := range map[vfs.Op]string{
		0:                          "none",
		vfs.OpWrite:                "write",
		vfs.OpWrite | vfs.OpSync:   "write|sync",
		vfs.OpSyncDir | vfs.OpOpen: "open|syncdir",
		vfs.OpAll:                  "all",
		vfs.OpSymlink | 1<<30:      "symlink|0x40000000",
	} {
		if got := op.String(); got != want {
			t.Errorf("Op(%#x).String() = %q, want %q", uint32(op), got, want)
		}
	}
}
