package vfs

import (
	"io/fs"
	"os"
	"slices"
	"sync"
	"syscall"
)

// Fault is one failure for an Injector to inject.
type Fault struct {
	// Ops is the set of calls that count toward N.
	Ops Op
	// N is the matching call to fail, counting from 1. Zero never fires,
	// which makes a Fault that only counts calls (see Injector.Count).
	N int
	// Err is the error to return, wrapped in a *fs.PathError that carries
	// the path (an *os.LinkError for Rename and Link, as package os does).
	// The default is syscall.EIO.
	Err error
	// Short makes a failing write write only the first half of its buffer
	// and report that count with a nil error: a silent short write, which
	// callers must notice themselves. On calls other than writes the fault
	// returns Err as usual.
	Short bool
	// Sticky fails every matching call from the N-th on, as a disk that
	// stays full does, instead of only the N-th.
	Sticky bool
}

// Injector is an FS that passes calls through to another FS and fails the
// ones its faults choose. Files it opens are wrapped too, so their calls
// count. A failing call does nothing before it returns its error, as a full
// disk refuses a write: a write returns (0, err) having written nothing, a
// failing Sync syncs nothing. The one exception is Close, which closes the
// underlying file anyway (close(2) releases the descriptor even when it
// reports an error), so that tests leak no open files.
//
// An Injector is safe for concurrent use.
type Injector struct {
	fsys FS

	mu     sync.Mutex
	faults []Fault
	seen   []int // matching calls per fault
	calls  int   // all calls
	fired  int
}

var _ Wrapper = (*Injector)(nil)

// Inject returns an Injector that wraps fsys with faults. Every fault counts
// independently; when several fire on one call, the first listed decides
// the error. A typical test counts the calls of an operation first with a
// Fault whose N is 0, then fails each in turn:
//
//	probe := vfs.Inject(fsys, vfs.Fault{Ops: vfs.OpWrite | vfs.OpSync})
//	operation(probe)
//	for n := 1; n <= probe.Count(); n++ {
//		inj := vfs.Inject(fsys, vfs.Fault{Ops: vfs.OpWrite | vfs.OpSync, N: n, Err: syscall.ENOSPC})
//		if err := operation(inj); !errors.Is(err, syscall.ENOSPC) { ... }
//	}
func Inject(fsys FS, faults ...Fault) *Injector {
	return &Injector{fsys: fsys, faults: slices.Clone(faults), seen: make([]int, len(faults))}
}

// Unwrap returns the FS the Injector wraps: names mean the same files on
// both, so locks taken through the Injector are the wrapped FS's locks
// (the cross-process lock, when it wraps OS).
func (i *Injector) Unwrap() FS { return i.fsys }

// Count returns how many calls matching the first fault's Ops have been
// made so far, or how many calls of any kind when there is no fault. Calls
// that were failed count too.
func (i *Injector) Count() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.faults) == 0 {
		return i.calls
	}
	return i.seen[0]
}

// Fired returns how many calls have been failed, short writes included.
func (i *Injector) Fired() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.fired
}

// check counts a call and returns the fault that fails it, if any.
func (i *Injector) check(op Op) (Fault, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.calls++
	var hit *Fault
	for k := range i.faults {
		f := &i.faults[k]
		if f.Ops&op == 0 {
			continue
		}
		i.seen[k]++
		if hit == nil && f.N > 0 && (i.seen[k] == f.N || f.Sticky && i.seen[k] > f.N) {
			hit = f
		}
	}
	if hit == nil {
		return Fault{}, false
	}
	i.fired++
	return *hit, true
}

// err returns the error the fault injects, before wrapping.
func (f Fault) err() error {
	if f.Err == nil {
		return syscall.EIO
	}
	return f.Err
}

// fail returns the error the fault injects into call op on name.
func (f Fault) fail(op Op, name string) error {
	return &fs.PathError{Op: op.pathOp(), Path: name, Err: f.err()}
}

// OpenFile implements FS.
func (i *Injector) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	if f, hit := i.check(OpOpen); hit {
		return nil, f.fail(OpOpen, name)
	}
	file, err := i.fsys.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &injFile{f: file, i: i}, nil
}

// Rename implements FS.
func (i *Injector) Rename(oldname, newname string) error {
	if f, hit := i.check(OpRename); hit {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: f.err()}
	}
	return i.fsys.Rename(oldname, newname)
}

// Link implements FS.
func (i *Injector) Link(oldname, newname string) error {
	if f, hit := i.check(OpLink); hit {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: f.err()}
	}
	return i.fsys.Link(oldname, newname)
}

// Remove implements FS.
func (i *Injector) Remove(name string) error {
	if f, hit := i.check(OpRemove); hit {
		return f.fail(OpRemove, name)
	}
	return i.fsys.Remove(name)
}

// Mkdir implements FS.
func (i *Injector) Mkdir(name string, perm fs.FileMode) error {
	if f, hit := i.check(OpMkdir); hit {
		return f.fail(OpMkdir, name)
	}
	return i.fsys.Mkdir(name, perm)
}

// ReadDir implements FS.
func (i *Injector) ReadDir(name string) ([]fs.DirEntry, error) {
	if f, hit := i.check(OpReadDir); hit {
		return nil, f.fail(OpReadDir, name)
	}
	return i.fsys.ReadDir(name)
}

// Stat implements FS.
func (i *Injector) Stat(name string) (fs.FileInfo, error) {
	if f, hit := i.check(OpStat); hit {
		return nil, f.fail(OpStat, name)
	}
	return i.fsys.Stat(name)
}

// Lstat implements FS.
func (i *Injector) Lstat(name string) (fs.FileInfo, error) {
	if f, hit := i.check(OpStat); hit {
		return nil, f.fail(OpStat, name)
	}
	return i.fsys.Lstat(name)
}

// Readlink implements FS.
func (i *Injector) Readlink(name string) (string, error) {
	if f, hit := i.check(OpReadlink); hit {
		return "", f.fail(OpReadlink, name)
	}
	return i.fsys.Readlink(name)
}

// SyncDir implements FS.
func (i *Injector) SyncDir(name string) error {
	if f, hit := i.check(OpSyncDir); hit {
		return f.fail(OpSyncDir, name)
	}
	return i.fsys.SyncDir(name)
}

// injFile is a File opened through an Injector.
type injFile struct {
	f File
	i *Injector
}

func (f *injFile) Name() string { return f.f.Name() }

func (f *injFile) Read(p []byte) (int, error) {
	if flt, hit := f.i.check(OpRead); hit {
		return 0, flt.fail(OpRead, f.f.Name())
	}
	return f.f.Read(p)
}

func (f *injFile) ReadAt(p []byte, off int64) (int, error) {
	if flt, hit := f.i.check(OpRead); hit {
		return 0, flt.fail(OpRead, f.f.Name())
	}
	return f.f.ReadAt(p, off)
}

func (f *injFile) Write(p []byte) (int, error) {
	if flt, hit := f.i.check(OpWrite); hit {
		if !flt.Short {
			return 0, flt.fail(OpWrite, f.f.Name())
		}
		return f.f.Write(p[:len(p)/2])
	}
	return f.f.Write(p)
}

func (f *injFile) WriteAt(p []byte, off int64) (int, error) {
	if flt, hit := f.i.check(OpWrite); hit {
		if !flt.Short {
			return 0, flt.fail(OpWrite, f.f.Name())
		}
		return f.f.WriteAt(p[:len(p)/2], off)
	}
	return f.f.WriteAt(p, off)
}

// Seek is never failed: it does not touch the disk.
func (f *injFile) Seek(offset int64, whence int) (int64, error) {
	return f.f.Seek(offset, whence)
}

func (f *injFile) Stat() (fs.FileInfo, error) {
	if flt, hit := f.i.check(OpStat); hit {
		return nil, flt.fail(OpStat, f.f.Name())
	}
	return f.f.Stat()
}

func (f *injFile) Sync() error {
	if flt, hit := f.i.check(OpSync); hit {
		return flt.fail(OpSync, f.f.Name())
	}
	return f.f.Sync()
}

func (f *injFile) Truncate(size int64) error {
	if flt, hit := f.i.check(OpTruncate); hit {
		return flt.fail(OpTruncate, f.f.Name())
	}
	return f.f.Truncate(size)
}

func (f *injFile) Chmod(mode fs.FileMode) error {
	if flt, hit := f.i.check(OpChmod); hit {
		return flt.fail(OpChmod, f.f.Name())
	}
	return f.f.Chmod(mode)
}

func (f *injFile) Chown(uid, gid int) error {
	if flt, hit := f.i.check(OpChown); hit {
		return flt.fail(OpChown, f.f.Name())
	}
	return f.f.Chown(uid, gid)
}

// Close closes the underlying file even when it injects an error.
func (f *injFile) Close() error {
	flt, hit := f.i.check(OpClose)
	err := f.f.Close()
	if hit {
		return flt.fail(OpClose, f.f.Name())
	}
	return err
}
