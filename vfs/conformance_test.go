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

func allocate(label string, size int64) step {
	return func(e *env) string { return errClass(vfs.Allocate(e.file(label), size)) }
}

func datasync(label string) step {
	return func(e *env) string { return errClass(vfs.Datasync(e.file(label))) }
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
