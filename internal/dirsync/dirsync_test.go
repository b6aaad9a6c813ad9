package dirsync

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// The cache of directories seen durable is a shortcut, and shortcuts lie:
// these tests run one random history twice, on two identical models, once
// through the cache and once through the plain walk, and require both to
// give the same answers, every answer to be true after a crash, and the
// cache to never cost more fsyncs.

var paths = []string{"/a", "/a/b", "/a/b/c", "/x", "/x/y", "/l", "/l/b", "/l/b/c"}

// world is one model and how MkdirAll is called on it.
type world struct {
	m     *vfs.MemFS
	c     *cache // nil: the plain path
	syncs int
}

func (w *world) sync(dir string) error {
	w.syncs++
	return w.m.SyncDir(dir)
}

// step applies op to w and returns what MkdirAll answered ("" for the
// other ops), or a description of a broken promise.
func (w *world) step(op, arg, arg2 byte) (string, error) {
	p := paths[int(arg)%len(paths)]
	switch op % 8 {
	case 0, 1: // another writer's mkdir, never synced
		w.m.Mkdir(p, 0o755)
	case 2: // someone removes a directory (only an empty one goes)
		w.m.Remove(p)
	case 3: // someone moves a directory away, or back
		// The move's source side is synced: a directory moved between two
		// unsynced directories can come back under both names, or none,
		// and no writer who finds it at one of them can know.
		if w.m.Rename(p, paths[int(arg2)%len(paths)]) == nil {
			w.m.SyncDir(filepath.Dir(p))
		}
	case 4: // time passes: everything reaches the disk
		w.m.SyncAll()
	case 5:
		w.m.Symlink("/a", "/l")
	default:
		err := mkdirAll(w.m, p, 0o755, w.sync, w.c)
		if err != nil {
			return "error", nil
		}
		fi, serr := w.m.Crash(0).Stat(p)
		if serr != nil || !fi.IsDir() {
			return "", fmt.Errorf("MkdirAll(%s) returned nil, but after a crash: %v\n%s", p, serr, w.m.Dump())
		}
		return "ok", nil
	}
	return "", nil
}

func runDifferential(t *testing.T, ops []byte) {
	t.Helper()
	cached := &world{m: vfs.NewMem(), c: &cache{}}
	plain := &world{m: vfs.NewMem()}
	for i := 0; i+2 < len(ops); i += 3 {
		a, err := cached.step(ops[i], ops[i+1], ops[i+2])
		if err != nil {
			t.Fatalf("cached, step %d: %v", i/3, err)
		}
		b, err := plain.step(ops[i], ops[i+1], ops[i+2])
		if err != nil {
			t.Fatalf("plain, step %d: %v", i/3, err)
		}
		if a != b {
			t.Fatalf("step %d (op %d on %s): cached answered %q, plain %q", i/3, ops[i]%8, paths[int(ops[i+1])%len(paths)], a, b)
		}
		if got, want := cached.m.Crash(1).Dump(), plain.m.Crash(1).Dump(); got != want {
			t.Fatalf("step %d: the trees differ:\ncached:\n%s\nplain:\n%s", i/3, got, want)
		}
	}
	if cached.syncs > plain.syncs {
		t.Fatalf("the cache cost %d fsyncs, the plain walk %d", cached.syncs, plain.syncs)
	}
}

func TestCacheMatchesPlainWalk(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		ops := make([]byte, 3*(1+r.IntN(40)))
		for i := range ops {
			ops[i] = byte(r.IntN(256))
		}
		runDifferential(t, ops)
	}
}

func FuzzCacheMatchesPlainWalk(f *testing.F) {
	f.Add([]byte{6, 2, 0, 2, 2, 0, 2, 1, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 6, 2, 0})
	f.Add([]byte{5, 0, 0, 6, 7, 0, 4, 0, 0, 3, 0, 3, 0, 0, 0, 6, 7, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 600 {
			return
		}
		runDifferential(t, ops)
	})
}

// The cache saves fsyncs: a second call for the same path costs none, and
// a directory removed and made again costs them again.
func TestCacheSavesAndForgets(t *testing.T) {
	w := &world{m: vfs.NewMem(), c: &cache{}}
	call := func() int {
		t.Helper()
		before := w.syncs
		if err := mkdirAll(w.m, "/a/b/c", 0o755, w.sync, w.c); err != nil {
			t.Fatal(err)
		}
		return w.syncs - before
	}
	if n := call(); n != 3 {
		t.Fatalf("first call: %d fsyncs, want 3", n)
	}
	if n := call(); n != 0 {
		t.Fatalf("second call: %d fsyncs, want 0", n)
	}
	if err := w.m.Remove("/a/b/c"); err != nil {
		t.Fatal(err)
	}
	if err := w.m.Mkdir("/a/b/c", 0o755); err != nil {
		t.Fatal(err)
	}
	if n := call(); n != 1 {
		t.Fatalf("after /a/b/c was made again: %d fsyncs, want 1 (of /a/b)", n)
	}
}

func TestNotADirectory(t *testing.T) {
	m := vfs.NewMem()
	if err := vfs.WriteFile(m, "/f", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := MkdirAll(m, "/f/d", 0o755, m.SyncDir)
	if err == nil {
		t.Fatal("MkdirAll under a file succeeded")
	}
	if err := MkdirAll(m, "/f", 0o755, m.SyncDir); err == nil {
		t.Fatal("MkdirAll of a file succeeded")
	}
}

func TestSymlinkLoop(t *testing.T) {
	m := vfs.NewMem()
	m.Symlink("/l2", "/l1")
	m.Symlink("/l1", "/l2")
	err := MkdirAll(m, "/l1/d", 0o755, m.SyncDir)
	if !errors.Is(err, syscall.ELOOP) {
		t.Fatalf("MkdirAll through a link loop: %v, want ELOOP", err)
	}
}

// A found directory whose parent may not be opened for the fsync (mode
// 0711, someone else's) is taken as it is; a directory this call made is
// not: its parent's fsync failing fails the call.
func TestParentNotReadable(t *testing.T) {
	denied := func(m *vfs.MemFS) func(string) error {
		return func(dir string) error {
			// ToSlash: on Windows the walk cleans paths to \shared.
			if filepath.ToSlash(dir) == "/shared" {
				return &fs.PathError{Op: "open", Path: dir, Err: syscall.EACCES}
			}
			return m.SyncDir(dir)
		}
	}
	m := vfs.NewMem()
	m.Mkdir("/shared", 0o711)
	m.Mkdir("/shared/mine", 0o700)
	m.SyncAll()
	if err := mkdirAll(m, "/shared/mine/sub", 0o700, denied(m), &cache{}); err != nil {
		t.Fatalf("below a found directory in an unreadable parent: %v", err)
	}
	m.Mkdir("/shared/other", 0o700)
	if err := mkdirAll(m, "/shared/other", 0o700, denied(m), &cache{}); err != nil {
		t.Fatalf("a found directory in an unreadable parent: %v", err)
	}
	err := mkdirAll(m, "/shared/new", 0o700, denied(m), &cache{})
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("a directory made in a parent that cannot be synced: %v, want the permission error", err)
	}
}
