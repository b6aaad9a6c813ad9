package vfs_test

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

func TestInjectNthWrite(t *testing.T) {
	m := vfs.NewMem()
	inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpWrite, N: 2, Err: syscall.ENOSPC})
	f, err := inj.OpenFile("/a", os.O_WRONLY|os.O_CREATE, 0o644)
	must(t, err)
	if _, err := f.Write([]byte("one ")); err != nil {
		t.Fatalf("first write: %v", err)
	}
	n, err := f.Write([]byte("two "))
	if !errors.Is(err, syscall.ENOSPC) || n != 0 {
		t.Fatalf("second write = %d, %v; want 0, ENOSPC", n, err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != "/a" || pe.Op != "write" {
		t.Errorf("error %#v does not carry the path", err)
	}
	if _, err := f.Write([]byte("three")); err != nil {
		t.Fatalf("third write: %v (only the 2nd should fail)", err)
	}
	must(t, f.Close())
	if got, _ := content(t, m, "/a"); got != "one three" {
		t.Errorf("content %q: the failed write must write nothing", got)
	}
	if inj.Count() != 3 || inj.Fired() != 1 {
		t.Errorf("Count %d Fired %d, want 3 and 1", inj.Count(), inj.Fired())
	}
}

func TestInjectShortWrite(t *testing.T) {
	m := vfs.NewMem()
	inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpWrite, N: 1, Short: true})
	f, err := inj.OpenFile("/a", os.O_WRONLY|os.O_CREATE, 0o644)
	must(t, err)
	n, err := f.Write([]byte("0123456789"))
	if err != nil || n != 5 {
		t.Fatalf("short write = %d, %v; want 5, nil", n, err)
	}
	n, err = f.WriteAt([]byte("abcd"), 0)
	if err != nil || n != 4 {
		t.Fatalf("the next write = %d, %v", n, err)
	}
	must(t, f.Close())
	if got, _ := content(t, m, "/a"); got != "abcd4" {
		t.Errorf("content %q", got)
	}
	if inj.Fired() != 1 {
		t.Errorf("Fired %d", inj.Fired())
	}
	// The helper meant for fixtures notices, too.
	inj = vfs.Inject(m, vfs.Fault{Ops: vfs.OpWrite, N: 1, Short: true})
	if err := vfs.WriteFile(inj, "/b", []byte("xy"), 0o644); err == nil {
		t.Error("WriteFile ignored a short write")
	}
}

func TestInjectSticky(t *testing.T) {
	m := vfs.NewMem()
	inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpWrite | vfs.OpSync, N: 2, Err: syscall.ENOSPC, Sticky: true})
	f, err := inj.OpenFile("/a", os.O_WRONLY|os.O_CREATE, 0o644)
	must(t, err)
	_, err = f.Write([]byte("ok"))
	must(t, err)
	for i := range 3 {
		if _, err := f.Write([]byte("x")); !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("write %d after the disk filled: %v", i, err)
		}
		if err := f.Sync(); !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("sync %d after the disk filled: %v", i, err)
		}
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close is not in Ops but failed: %v", err)
	}
	if inj.Fired() != 6 || inj.Count() != 7 {
		t.Errorf("Fired %d Count %d, want 6 and 7", inj.Fired(), inj.Count())
	}
}

func TestInjectDefaultsAndNeverFires(t *testing.T) {
	m := vfs.NewMem()
	inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpRename | vfs.OpMkdir, N: 1}, vfs.Fault{Ops: vfs.OpMkdir})
	err := inj.Mkdir("/d", 0o755)
	if !errors.Is(err, syscall.EIO) {
		t.Errorf("Mkdir = %v, want EIO by default", err)
	}
	if _, statErr := m.Stat("/d"); statErr == nil {
		t.Error("the failed Mkdir created the directory")
	}
	must(t, inj.Mkdir("/d", 0o755))
	writeFileT(t, m, "/a", "x")
	must(t, inj.Rename("/a", "/b"))
	var le *os.LinkError
	inj = vfs.Inject(m, vfs.Fault{Ops: vfs.OpRename, N: 1, Err: syscall.EXDEV})
	if err := inj.Rename("/b", "/c"); !errors.As(err, &le) || !errors.Is(err, syscall.EXDEV) || le.New != "/c" {
		t.Errorf("Rename = %#v, want a LinkError around EXDEV", err)
	}
	// With no fault, Count counts every call and nothing fires.
	inj = vfs.Inject(m)
	inj.Stat("/b")
	inj.ReadDir("/")
	if inj.Count() != 2 || inj.Fired() != 0 {
		t.Errorf("Count %d Fired %d", inj.Count(), inj.Fired())
	}
}

// Every call counts under its own Op and fails with the injected error.
func TestInjectEveryCall(t *testing.T) {
	calls := []struct {
		op  vfs.Op
		run func(fsys vfs.FS, f vfs.File) error
	}{
		{vfs.OpOpen, func(fsys vfs.FS, _ vfs.File) error {
			_, err := fsys.OpenFile("/a", os.O_RDONLY, 0)
			return err
		}},
		{vfs.OpRead, func(_ vfs.FS, f vfs.File) error { _, err := f.Read(make([]byte, 1)); return err }},
		{vfs.OpRead, func(_ vfs.FS, f vfs.File) error { _, err := f.ReadAt(make([]byte, 1), 0); return err }},
		{vfs.OpWrite, func(_ vfs.FS, f vfs.File) error { _, err := f.Write([]byte("x")); return err }},
		{vfs.OpWrite, func(_ vfs.FS, f vfs.File) error { _, err := f.WriteAt([]byte("x"), 0); return err }},
		{vfs.OpSync, func(_ vfs.FS, f vfs.File) error { return f.Sync() }},
		{vfs.OpTruncate, func(_ vfs.FS, f vfs.File) error { return f.Truncate(0) }},
		{vfs.OpChmod, func(_ vfs.FS, f vfs.File) error { return f.Chmod(0o600) }},
		{vfs.OpChown, func(_ vfs.FS, f vfs.File) error { return f.Chown(-1, -1) }},
		{vfs.OpStat, func(_ vfs.FS, f vfs.File) error { _, err := f.Stat(); return err }},
		{vfs.OpStat, func(fsys vfs.FS, _ vfs.File) error { _, err := fsys.Stat("/a"); return err }},
		{vfs.OpStat, func(fsys vfs.FS, _ vfs.File) error { _, err := fsys.Lstat("/a"); return err }},
		{vfs.OpReadDir, func(fsys vfs.FS, _ vfs.File) error { _, err := fsys.ReadDir("/"); return err }},
		{vfs.OpReadlink, func(fsys vfs.FS, _ vfs.File) error { _, err := fsys.Readlink("/l"); return err }},
		{vfs.OpRename, func(fsys vfs.FS, _ vfs.File) error { return fsys.Rename("/a", "/b") }},
		{vfs.OpLink, func(fsys vfs.FS, _ vfs.File) error { return fsys.Link("/a", "/b") }},
		{vfs.OpRemove, func(fsys vfs.FS, _ vfs.File) error { return fsys.Remove("/a") }},
		{vfs.OpMkdir, func(fsys vfs.FS, _ vfs.File) error { return fsys.Mkdir("/d", 0o755) }},
		{vfs.OpSyncDir, func(fsys vfs.FS, _ vfs.File) error { return fsys.SyncDir("/") }},
		{vfs.OpClose, func(_ vfs.FS, f vfs.File) error { return f.Close() }},
	}
	for _, c := range calls {
		m := vfs.NewMem()
		writeFileT(t, m, "/a", "abc")
		must(t, m.Symlink("a", "/l"))
		inj := vfs.Inject(m, vfs.Fault{Ops: c.op, N: 1, Err: syscall.EROFS})
		other := vfs.Inject(m, vfs.Fault{Ops: vfs.OpAll &^ c.op, N: 1, Err: syscall.EROFS})
		var f, g vfs.File
		var err error
		if c.op != vfs.OpOpen {
			f, err = inj.OpenFile("/a", os.O_RDWR, 0)
			must(t, err)
		}
		if err := c.run(inj, f); !errors.Is(err, syscall.EROFS) || !strings.Contains(err.Error(), "/") {
			t.Errorf("%v: %v, want EROFS with the path", c.op, err)
		}
		if inj.Count() != 1 || inj.Fired() != 1 {
			t.Errorf("%v: Count %d Fired %d", c.op, inj.Count(), inj.Fired())
		}
		// The same call must not count toward a fault on every other op.
		if c.op != vfs.OpOpen {
			other = vfs.Inject(m, vfs.Fault{Ops: vfs.OpAll &^ c.op &^ vfs.OpOpen, N: 1, Err: syscall.EROFS})
			g, err = other.OpenFile("/a", os.O_RDWR, 0)
			must(t, err)
		}
		if err := c.run(other, g); errors.Is(err, syscall.EROFS) {
			t.Errorf("%v counted as another op: %v", c.op, err)
		}
	}
}

// TestInjectEnumerate is the pattern the package doc describes: count the
// calls of an operation, then fail each in turn and check the error
// surfaces, the old state is intact and no temp file is left.
func TestInjectEnumerate(t *testing.T) {
	setup := func() *vfs.MemFS {
		m := vfs.NewMem()
		must(t, m.Mkdir("/d", 0o755))
		writeFileT(t, m, "/d/config", "old")
		m.SyncAll()
		return m
	}
	probe := vfs.Inject(setup(), vfs.Fault{Ops: vfs.OpAll})
	must(t, replace(probe, "/d/config", "new", false))
	// open, write, sync, close, rename, syncdir
	if probe.Count() != 6 || probe.Fired() != 0 {
		t.Fatalf("Count %d Fired %d, want 6 calls and no failure", probe.Count(), probe.Fired())
	}
	for _, short := range []bool{false, true} {
		for n := 1; n <= probe.Count()+1; n++ {
			m := setup()
			inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpAll, N: n, Err: syscall.ENOSPC, Short: short})
			err := replace(inj, "/d/config", "new", false)
			if n > probe.Count() {
				if err != nil || inj.Fired() != 0 {
					t.Errorf("n=%d beyond the last call: %v, fired %d", n, err, inj.Fired())
				}
				continue
			}
			if err == nil || inj.Fired() != 1 {
				t.Errorf("short=%v n=%d: err %v fired %d; the failure must surface", short, n, err, inj.Fired())
				continue
			}
			if !short && !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("n=%d: %v, want ENOSPC", n, err)
			}
			got, _ := content(t, m, "/d/config")
			list, err := m.ReadDir("/d")
			must(t, err)
			if got != "old" && got != "new" || len(list) != 1 {
				t.Errorf("short=%v n=%d: config %q, %d names in /d\n%s", short, n, got, len(list), m.Dump())
			}
		}
	}
}

func TestInjectFirstFaultDecides(t *testing.T) {
	inj := vfs.Inject(vfs.NewMem(),
		vfs.Fault{Ops: vfs.OpMkdir, N: 1, Err: syscall.ENOSPC},
		vfs.Fault{Ops: vfs.OpMkdir, N: 1, Err: syscall.EIO})
	if err := inj.Mkdir("/d", 0o755); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Mkdir = %v", err)
	}
	if inj.Fired() != 1 {
		t.Errorf("one call failed by two faults counts once, got %d", inj.Fired())
	}
}

func TestInjectConcurrent(t *testing.T) {
	m := vfs.NewMem()
	writeFileT(t, m, "/a", "x")
	inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpStat, N: 100, Sticky: true})
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := inj.Stat("/a"); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if inj.Count() != 400 || inj.Fired() != 301 || failed != 301 {
		t.Errorf("Count %d Fired %d failed %d, want 400, 301, 301", inj.Count(), inj.Fired(), failed)
	}
}

func TestInjectOS(t *testing.T) {
	dir := testdir.New(t)
	inj := vfs.Inject(vfs.OS{}, vfs.Fault{Ops: vfs.OpSync, N: 1, Err: syscall.EIO})
	err := replace(inj, dir+string(os.PathSeparator)+"f", "data", false)
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("replace = %v", err)
	}
	list, err := os.ReadDir(dir)
	must(t, err)
	if len(list) != 0 {
		t.Errorf("left behind: %v", list)
	}
}
