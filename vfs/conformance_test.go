package vfs_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// The conformance test runs each script on the real filesystem and on the
// model and compares the transcripts line by line: results, and for errors
// their type and class (the errors.Is targets callers branch on). It is what
// keeps the model honest: a model that is stricter than the OS in the wrong
// place would make the crash tests prove the wrong thing.

// env is what a script runs against.
type env struct {
	t     *testing.T
	fsys  vfs.FS
	root  string
	files map[string]vfs.File
}

// path turns a script path (slash-separated, relative to the root) into one
// for fsys, keeping a trailing slash.
func (e *env) path(name string) string {
	return e.root + string(filepath.Separator) + filepath.FromSlash(name)
}

func (e *env) file(label string) vfs.File {
	f, ok := e.files[label]
	if !ok {
		e.t.Fatalf("script uses file %q before opening it", label)
	}
	return f
}

// step runs one call and describes its result.
type step func(e *env) string

// errClass names an error by type and by the first class it matches.
func errClass(err error) string {
	if err == nil {
		return "ok"
	}
	var kind string
	switch err.(type) {
	case *fs.PathError:
		kind = "PathError"
	case *os.LinkError:
		kind = "LinkError"
	default:
		kind = fmt.Sprintf("%T", err)
	}
	classes := []struct {
		name   string
		target error
	}{
		{"ENOTEMPTY", syscall.ENOTEMPTY}, // before ErrExist, which it also matches
		{"ErrNotExist", fs.ErrNotExist},
		{"ErrExist", fs.ErrExist},
		{"ErrClosed", fs.ErrClosed},
		{"EISDIR", syscall.EISDIR},
		{"ENOTDIR", syscall.ENOTDIR},
		{"EINVAL", syscall.EINVAL},
		{"EBADF", syscall.EBADF},
		{"ELOOP", syscall.ELOOP},
		{"EPERM", syscall.EPERM},
		{"EBUSY", syscall.EBUSY},
		{"EOF", io.EOF},
	}
	for _, c := range classes {
		if errors.Is(err, c.target) {
			return kind + " " + c.name
		}
	}
	return kind + " other: " + err.Error()
}

func describe(fi fs.FileInfo) string {
	uid, gid, _ := vfs.Owner(fi)
	switch {
	case fi.IsDir():
		return fmt.Sprintf("dir %s %v %d:%d", fi.Name(), fi.Mode(), uid, gid)
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Sprintf("symlink %s size=%d", fi.Name(), fi.Size())
	default:
		return fmt.Sprintf("file %s size=%d %v %d:%d", fi.Name(), fi.Size(), fi.Mode(), uid, gid)
	}
}

func open(label, name string, flag int, perm fs.FileMode) step {
	return func(e *env) string {
		f, err := e.fsys.OpenFile(e.path(name), flag, perm)
		if err == nil {
			e.files[label] = f
		}
		return errClass(err)
	}
}

func write(label, data string) step {
	return func(e *env) string {
		n, err := e.file(label).Write([]byte(data))
		return fmt.Sprintf("%d %s", n, errClass(err))
	}
}

func writeAt(label, data string, off int64) step {
	return func(e *env) string {
		n, err := e.file(label).WriteAt([]byte(data), off)
		return fmt.Sprintf("%d %s", n, errClass(err))
	}
}

func read(label string, size int) step {
	return func(e *env) string {
		buf := make([]byte, size)
		n, err := e.file(label).Read(buf)
		return fmt.Sprintf("%q %s", buf[:n], errClass(err))
	}
}

func readAt(label string, size int, off int64) step {
	return func(e *env) string {
		buf := make([]byte, size)
		n, err := e.file(label).ReadAt(buf, off)
		return fmt.Sprintf("%q %s", buf[:n], errClass(err))
	}
}

func seek(label string, off int64, whence int) step {
	return func(e *env) string {
		pos, err := e.file(label).Seek(off, whence)
		return fmt.Sprintf("%d %s", pos, errClass(err))
	}
}

func truncate(label string, size int64) step {
	return func(e *env) string { return errClass(e.file(label).Truncate(size)) }
}

func chmod(label string, mode fs.FileMode) step {
	return func(e *env) string { return errClass(e.file(label).Chmod(mode)) }
}

func chown(label string, uid, gid int) step {
	return func(e *env) string { return errClass(e.file(label).Chown(uid, gid)) }
}

func fsync(label string) step {
	return func(e *env) string { return errClass(e.file(label).Sync()) }
}

func fstat(label string) step {
	return func(e *env) string {
		fi, err := e.file(label).Stat()
		if err != nil {
			return errClass(err)
		}
		return describe(fi)
	}
}

func closeFile(label string) step {
	return func(e *env) string { return errClass(e.file(label).Close()) }
}

func stat(name string) step {
	return func(e *env) string {
		fi, err := e.fsys.Stat(e.path(name))
		if err != nil {
			return errClass(err)
		}
		return describe(fi)
	}
}

func lstat(name string) step {
	return func(e *env) string {
		fi, err := e.fsys.Lstat(e.path(name))
		if err != nil {
			return errClass(err)
		}
		return describe(fi)
	}
}

func mkdir(name string, perm fs.FileMode) step {
	return func(e *env) string { return errClass(e.fsys.Mkdir(e.path(name), perm)) }
}

func remove(name string) step {
	return func(e *env) string { return errClass(e.fsys.Remove(e.path(name))) }
}

func rename(from, to string) step {
	return func(e *env) string { return errClass(e.fsys.Rename(e.path(from), e.path(to))) }
}

func renameFile(from, to string) step {
	return func(e *env) string { return errClass(vfs.RenameFile(e.fsys, e.path(from), e.path(to))) }
}

func link(from, to string) step {
	return func(e *env) string { return errClass(e.fsys.Link(e.path(from), e.path(to))) }
}

// symlink creates a link whose target is used as given (relative targets
// keep the scripts independent of the root).
func symlink(target, name string) step {
	return func(e *env) string {
		var err error
		switch fsys := e.fsys.(type) {
		case *vfs.MemFS:
			err = fsys.Symlink(target, e.path(name))
		case vfs.OS:
			err = os.Symlink(target, e.path(name))
		default:
			e.t.Fatalf("symlink on %T", fsys)
		}
		return errClass(err)
	}
}

func readlink(name string) step {
	return func(e *env) string {
		target, err := e.fsys.Readlink(e.path(name))
		return fmt.Sprintf("%q %s", target, errClass(err))
	}
}

func readDir(name string) step {
	return func(e *env) string {
		list, err := e.fsys.ReadDir(e.path(name))
		if err != nil {
			return errClass(err)
		}
		var names []string
		for _, d := range list {
			s := d.Name()
			switch {
			case d.IsDir():
				s += "/"
			case d.Type()&fs.ModeSymlink != 0:
				s += "@"
			}
			info, err := d.Info()
			if err != nil {
				s += " " + errClass(err)
			} else if !info.IsDir() {
				s += fmt.Sprintf(" (%d)", info.Size())
			}
			names = append(names, s)
		}
		return strings.Join(names, ", ")
	}
}

func syncDir(name string) step {
	return func(e *env) string { return errClass(e.fsys.SyncDir(e.path(name))) }
}

func writeFile(name, data string) step {
	return func(e *env) string {
		return errClass(vfs.WriteFile(e.fsys, e.path(name), []byte(data), 0o644))
	}
}

func readFile(name string) step {
	return func(e *env) string {
		data, err := vfs.ReadFile(e.fsys, e.path(name))
		return fmt.Sprintf("%q %s", data, errClass(err))
	}
}

const (
	rdonly = os.O_RDONLY
	wronly = os.O_WRONLY
	rdwr   = os.O_RDWR
	creat  = os.O_CREATE
	excl   = os.O_EXCL
	trunc  = os.O_TRUNC
	appnd  = os.O_APPEND
)

type script struct {
	name     string
	needRoot bool // Chown to another owner needs root
	steps    []step
}

func conformanceScripts() []script {
	return []script{
		{name: "create write read", steps: []step{
			open("f", "a", rdwr|creat, 0o666),
			write("f", "hello"),
			fstat("f"),
			seek("f", 0, io.SeekStart),
			read("f", 3),
			read("f", 10),
			read("f", 10),
			read("f", 0),
			seek("f", -2, io.SeekEnd),
			read("f", 10),
			stat("a"),
			lstat("a"),
			closeFile("f"),
			readFile("a"),
		}},
		{name: "exclusive create", steps: []step{
			writeFile("a", "x"),
			open("g", "a", wronly|creat|excl, 0o644),
			open("g", "b", wronly|creat|excl, 0o600),
			fstat("g"),
			closeFile("g"),
		}},
		{name: "missing names", steps: []step{
			open("g", "nope", rdonly, 0),
			open("g", "nope", rdwr, 0),
			open("g", "nope/x", rdwr|creat, 0o644),
			stat("nope"),
			lstat("nope"),
			remove("nope"),
			readlink("nope"),
			readDir("nope"),
			mkdir("nope/x", 0o755),
			rename("nope", "x"),
			link("nope", "x"),
			syncDir("nope"),
			readFile("nope"),
		}},
		{name: "truncate on open", steps: []step{
			writeFile("a", "hello"),
			open("f", "a", wronly|trunc, 0),
			fstat("f"),
			write("f", "hi"),
			closeFile("f"),
			readFile("a"),
			open("f", "a", rdwr|creat, 0o600), // existing: no truncate, no mode change
			fstat("f"),
			closeFile("f"),
		}},
		{name: "append", steps: []step{
			writeFile("a", "abc"),
			open("f", "a", rdwr|appnd, 0),
			seek("f", 0, io.SeekStart),
			write("f", "de"),
			seek("f", 0, io.SeekCurrent),
			readAt("f", 10, 0),
			write("f", "f"),
			closeFile("f"),
			readFile("a"),
		}},
		{name: "access modes", steps: []step{
			writeFile("a", "abc"),
			open("r", "a", rdonly, 0),
			write("r", "x"),
			writeAt("r", "x", 0),
			truncate("r", 0),
			read("r", 10),
			open("w", "a", wronly, 0),
			read("w", 10),
			readAt("w", 10, 0),
			write("w", "X"),
			fsync("r"), // fsync needs no write access
			closeFile("r"),
			closeFile("w"),
			readFile("a"),
		}},
		{name: "closed file", steps: []step{
			writeFile("a", "abc"),
			open("f", "a", rdwr, 0),
			closeFile("f"),
			read("f", 1),
			readAt("f", 1, 0),
			write("f", "x"),
			writeAt("f", "x", 0),
			seek("f", 0, io.SeekStart),
			fstat("f"),
			fsync("f"),
			truncate("f", 0),
			chmod("f", 0o600),
			closeFile("f"),
			readFile("a"),
		}},
		{name: "directories", steps: []step{
			mkdir("d", 0o750),
			mkdir("d", 0o750),
			stat("d"),
			stat("d/"),
			writeFile("a", "x"),
			mkdir("a/x", 0o755),
			mkdir("d/e", 0o777),
			stat("d/e"),
			open("f", "d", wronly, 0),
			open("f", "d", rdwr, 0),
			open("f", "d", rdonly|creat, 0o644),
			open("f", "d", rdonly|creat|excl, 0o644),
			open("f", "d", rdonly, 0),
			read("f", 10),
			readAt("f", 10, 0),
			fsync("f"),
			fstat("f"),
			closeFile("f"),
			syncDir("d"),
		}},
		{name: "remove", steps: []step{
			mkdir("d", 0o755),
			writeFile("d/x", "x"),
			remove("d"),
			remove("d/x"),
			remove("d/x"),
			readDir("d"),
			remove("d"),
			stat("d"),
			writeFile("a", "x"),
			remove("a/"),
			remove("a"),
			readDir("."),
		}},
		{name: "read dir", steps: []step{
			mkdir("d", 0o755),
			writeFile("d/b", "bb"),
			mkdir("d/a", 0o755),
			symlink("b", "d/c"),
			writeFile("d/A", "A"),
			readDir("d"),
			readDir("d/b"),
			readDir("d/a"),
		}},
		{name: "rename files", steps: []step{
			writeFile("a", "1"),
			writeFile("b", "2"),
			rename("a", "b"),
			readFile("b"),
			stat("a"),
			rename("b", "b"),
			readFile("b"),
			rename("b", "nodir/b"),
			rename("b", "b/x"),
			mkdir("d", 0o755),
			rename("b", "d/b"),
			readFile("d/b"),
			link("d/b", "c"),
			rename("c", "d/b"), // two names of one file: nothing happens
			readDir("."),
			readDir("d"),
			rename("d/b", "x/"),
		}},
		{name: "rename files with RenameFile", steps: []step{
			writeFile("a", "1"),
			writeFile("b", "2"),
			renameFile("a", "b"),
			readFile("b"),
			stat("a"),
			renameFile("a", "b"),
			renameFile("b", "b"),
			readFile("b"),
			renameFile("b", "nodir/b"),
			renameFile("b", "b/x"),
			mkdir("d", 0o755),
			renameFile("b", "d"), // a directory newname: refused
			renameFile("b", "d/"),
			readDir("d"),
			renameFile("b", "d/b"),
			readFile("d/b"),
			link("d/b", "c"),
			renameFile("c", "d/b"), // two names of one file: nothing happens
			symlink("d/b", "s"),
			writeFile("e", "e"),
			renameFile("e", "s"), // replaces the link, not what it names
			lstat("s"),
			readFile("d/b"),
			readDir("."),
			renameFile("d/b", "x/"),
		}},
		{name: "rename directories", steps: []step{
			mkdir("d", 0o755),
			mkdir("e", 0o755),
			writeFile("d/x", "x"),
			writeFile("f", "f"),
			rename("d", "e"),
			rename("f", "e"),
			rename("d", "f"),
			rename("d", "d/sub"),
			rename("d", "d"),
			rename("d", "g"),
			readFile("g/x"),
			stat("d"),
			rename("f", "g/f"),
			rename("g", "e/g"),
			readDir("e/g"),
			rename("e/g/x", "e/g/y/"),
			rename("e", "."),
		}},
		{name: "hard links", steps: []step{
			writeFile("a", "x"),
			link("a", "b"),
			open("f", "b", wronly|appnd, 0),
			write("f", "y"),
			closeFile("f"),
			readFile("a"),
			link("a", "b"),
			mkdir("d", 0o755),
			link("d", "e"),
			link("a", "d/a"),
			link("a", "nodir/a"),
			remove("a"),
			readFile("b"),
			readFile("d/a"),
		}},
		{name: "symbolic links", steps: []step{
			writeFile("t", "T"),
			symlink("t", "l"),
			stat("l"),
			lstat("l"),
			readlink("l"),
			readlink("t"),
			readFile("l"),
			symlink("x", "t"),
			symlink("x", "l"),
			symlink("missing", "dl"),
			stat("dl"),
			lstat("dl"),
			open("f", "dl", wronly|creat|excl, 0o644),
			open("f", "dl", wronly|creat, 0o644),
			write("f", "via link"),
			closeFile("f"),
			readFile("missing"),
			symlink("l2", "l1"),
			symlink("l1", "l2"),
			stat("l1"),
			lstat("l1"),
			open("f", "l1", rdonly, 0),
			open("f", "l1/x", rdonly, 0),
			remove("l"),
			readFile("t"),
			readFile("l"),
		}},
		{name: "links in directories", steps: []step{
			mkdir("d", 0o755),
			mkdir("d/e", 0o755),
			writeFile("d/x", "dx"),
			symlink("../x", "d/e/up"),
			readFile("d/e/up"),
			symlink("d/e", "de"),
			readFile("de/up"),
			readDir("de"),
			stat("de/"),
			lstat("de/"),
			writeFile("de/new", "n"),
			readFile("d/e/new"),
			symlink(".", "self"),
			readFile("self/self/d/x"),
			mkdir("de/sub", 0o755),
			stat("d/e/sub"),
			rename("de/new", "de/sub/new"),
			readFile("d/e/sub/new"),
			syncDir("de"),
		}},
		{name: "offsets and sizes", steps: []step{
			open("f", "a", rdwr|creat, 0o644),
			seek("f", 3, io.SeekStart),
			write("f", "x"),
			readAt("f", 10, 0),
			readAt("f", 2, 1),
			readAt("f", 2, 10),
			writeAt("f", "yz", 6),
			fstat("f"),
			truncate("f", 10),
			fstat("f"),
			truncate("f", -1),
			seek("f", -1, io.SeekStart),
			seek("f", 0, io.SeekEnd),
			seek("f", 0, 7),
			truncate("f", 2),
			readAt("f", 10, 0),
			write("f", "w"), // offset is past the end: a hole
			readAt("f", 20, 0),
			closeFile("f"),
		}},
		{name: "modes", steps: []step{
			open("f", "a", wronly|creat, 0o777),
			fstat("f"),
			chmod("f", 0o600),
			fstat("f"),
			chmod("f", fs.ModeSetuid|0o755),
			fstat("f"),
			closeFile("f"),
			stat("a"),
			mkdir("d", 0o777),
			stat("d"),
			mkdir("p", 0o700),
			stat("p"),
			open("g", "b", wronly|creat, 0o640),
			fstat("g"),
			closeFile("g"),
		}},
		{name: "trailing slash and files in the path", steps: []step{
			writeFile("a", "x"),
			stat("a/"),
			lstat("a/"),
			open("f", "a/", rdonly, 0),
			open("f", "new/", wronly|creat, 0o644),
			open("f", "a/x", rdonly, 0),
			stat("a/x"),
			mkdir("a/x", 0o755),
			writeFile("a/x", "y"),
			mkdir("d/", 0o755),
			stat("d/"),
			symlink("a", "la"),
			stat("la/"),
			remove("la/"),
			rename("la/", "lb"),
			mkdir("la", 0o755),
			symlink("nowhere", "dangling"),
			mkdir("dangling", 0o755),
			link("a", "dangling"),
			rename("a", "dangling"),
			lstat("dangling"),
			readFile("d/../dangling"),
			mkdir("d/sub", 0o755),
			symlink("d/sub", "ls"),
			open("f", "ls", rdonly|creat, 0o644),
			remove("ls"),
			stat("d/sub"),
		}},
		{name: "open file outlives its name", steps: []step{
			open("f", "a", rdwr|creat, 0o644),
			write("f", "abc"),
			rename("a", "b"),
			write("f", "d"),
			readFile("b"),
			remove("b"),
			write("f", "e"),
			readAt("f", 10, 0),
			fstat("f"),
			stat("b"),
			fsync("f"),
			closeFile("f"),
			readDir("."),
		}},
		{name: "sync", steps: []step{
			open("f", "a", wronly|creat|os.O_SYNC, 0o644),
			write("f", "x"),
			fsync("f"),
			closeFile("f"),
			syncDir("."),
			syncDir(""),
		}},
		{name: "chown", needRoot: true, steps: []step{
			open("f", "a", wronly|creat, 0o644),
			chown("f", 1, 2),
			fstat("f"),
			chown("f", -1, 3),
			fstat("f"),
			chown("f", 4, -1),
			closeFile("f"),
			stat("a"),
		}},
	}
}

// umask returns the process umask without changing it, from the mode of a
// file created with every permission.
func umask(t *testing.T, dir string) fs.FileMode {
	p := filepath.Join(dir, ".umask")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o777)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	return 0o777 &^ fi.Mode().Perm()
}

func runScript(t *testing.T, fsys vfs.FS, root string, steps []step) []string {
	e := &env{t: t, fsys: fsys, root: root, files: map[string]vfs.File{}}
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s(e)
	}
	for _, f := range e.files {
		f.Close()
	}
	return out
}

func TestConformance(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the model follows POSIX; Windows errors and modes differ")
	}
	for _, sc := range conformanceScripts() {
		t.Run(strings.ReplaceAll(sc.name, " ", "_"), func(t *testing.T) {
			if sc.needRoot && os.Geteuid() != 0 {
				t.Skip("needs root")
			}
			dir := testdir.New(t)
			m := vfs.NewMem()
			m.SetUmask(umask(t, dir))
			m.SetOwner(os.Getuid(), os.Getgid())
			if err := m.Mkdir("/tmp", 0o755); err != nil {
				t.Fatal(err)
			}
			want := runScript(t, vfs.OS{}, dir, sc.steps)
			got := runScript(t, m, "/tmp", sc.steps)
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("step %d: MemFS %s\n\t     OS    %s", i, got[i], want[i])
				}
			}
			if t.Failed() {
				t.Logf("MemFS tree:\n%s", m.Dump())
			}
		})
	}
}

// TestConformanceDetectsDifferences makes sure the comparison itself can
// fail: a script whose result differs between the two must be reported.
func TestConformanceDetectsDifferences(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the model follows POSIX")
	}
	dir := testdir.New(t)
	m := vfs.NewMem()
	m.Mkdir("/tmp", 0o755)
	// SyncDir on a regular file succeeds on Unix and is refused by the
	// model on purpose.
	steps := []step{writeFile("a", "x"), syncDir("a")}
	want := runScript(t, vfs.OS{}, dir, steps)
	got := runScript(t, m, "/tmp", steps)
	if got[1] == want[1] {
		t.Fatalf("expected a difference, both gave %s", got[1])
	}
}
