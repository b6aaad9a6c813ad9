// Package sidecar opens and creates the files durable keeps beside a
// caller's data: lock files, backups, damaged and pre-migration copies,
// journal segments and evidence.
//
// Those names sit in directories that other users may write (/tmp,
// group-shared state), and root may be the one opening them, so:
//   - nothing is opened through a symbolic link (vfs.O_NOFOLLOW);
//   - nothing waits on a FIFO planted at a name (O_NONBLOCK on the open);
//   - only a regular file is accepted, as the open file describes itself
//     (fstat), not as the name looked a moment before; a file that will be
//     locked, or whose owner or mode may be changed, must also have no
//     other name, since a hard link could lead to any file on the volume;
//   - a file this process creates gets the owner, group and mode it should
//     have on its descriptor, before its name appears: those of the data it
//     serves (for a directory-shaped store, the directory), so that root's
//     work never locks a user out of their own files and members of a group
//     keep sharing a group file.
//
// Whatever else is found is refused with an error that names the path and
// wraps durable.ErrUnsafeFile, and nothing is created, changed or locked
// through it.
package sidecar

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/durable-go/durable/internal/checked"
	"github.com/durable-go/durable/internal/errs"
	"github.com/durable-go/durable/vfs"
)

// Attr is what a sidecar should be: its permission bits and, where the
// platform has owners, its owner and group.
type Attr struct {
	Perm     fs.FileMode // exact permission bits; 0 leaves what creation gave
	UID, GID int
	Owned    bool // UID and GID are known
}

// Of returns the attributes of a sidecar of data: data's owner and group,
// and the permissions Perm derives from data's. data is a regular file, or
// the directory of a directory-shaped store (a journal, a queue); where
// data does not exist yet, or is not a regular file or a directory, its
// directory stands in, since the data will be made there.
func Of(fsys vfs.FS, data string) (Attr, error) {
	fi, err := fsys.Lstat(data)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Attr{}, err
	}
	if err != nil || !fi.Mode().IsRegular() && !fi.IsDir() {
		if fi, err = fsys.Stat(filepath.Dir(data)); err != nil {
			return Attr{}, err
		}
	}
	return attrOf(fi), nil
}

func attrOf(fi fs.FileInfo) Attr {
	a := Attr{Perm: Perm(fi.Mode())}
	a.UID, a.GID, a.Owned = vfs.Owner(fi)
	return a
}

// Perm derives a sidecar's permission bits from m, the mode of its data.
//
// For a regular file: the owner may read and write; every other class that
// may write the data may read and write the sidecar, and a class that may
// only read it may only read the sidecar. For a lock that is exactly what
// flock on the data file itself would allow: a writer opens the lock for
// writing (an exclusive fcntl lock needs that), a reader may take a shared
// lock, which needs only read access.
//
// For a directory: a class that may create files in it may read and write
// the sidecar, any other class gets nothing; a sticky directory that
// everyone may write (/tmp) gives only the owner access, since its other
// writers are strangers to each other.
func Perm(m fs.FileMode) fs.FileMode {
	p := fs.FileMode(0o600)
	if m.IsDir() {
		if m&fs.ModeSticky != 0 && m&0o002 != 0 {
			return p
		}
		for _, shift := range []uint{3, 0} {
			if m>>shift&0o2 != 0 {
				p |= 0o6 << shift
			}
		}
		return p
	}
	for _, shift := range []uint{3, 0} {
		switch c := m >> shift & 0o7; {
		case c&0o2 != 0:
			p |= 0o6 << shift
		case c&0o4 != 0:
			p |= 0o4 << shift
		}
	}
	return p
}

// Open opens the existing sidecar name with flag (os.O_RDONLY, os.O_RDWR,
// with os.O_APPEND and the like), never through a symbolic link and never
// waiting on a FIFO, and returns it with what the open file says of itself.
// Anything but a regular file is refused.
func Open(fsys vfs.FS, name string, flag int) (vfs.File, fs.FileInfo, error) {
	return open(fsys, name, flag, false)
}

// OpenSingle is Open for a file that will be locked, or whose owner or
// mode may be changed: it also refuses a file with another name.
func OpenSingle(fsys vfs.FS, name string, flag int) (vfs.File, fs.FileInfo, error) {
	return open(fsys, name, flag, true)
}

func open(fsys vfs.FS, name string, flag int, single bool) (vfs.File, fs.FileInfo, error) {
	if flag&os.O_CREATE != 0 {
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("sidecar.Open does not create files; OpenLock does")}
	}
	f, err := fsys.OpenFile(name, flag|vfs.O_NOFOLLOW|nonBlock, 0)
	if err != nil {
		return nil, nil, openError(fsys, name, err)
	}
	fi, err := check(f, name, single)
	if errors.Is(err, errHardLinked) {
		// Checked again whatever dropCreatorsTemp found: the creator may
		// have removed its temp itself between the fstat and the look at
		// the directory, and then nothing is left to remove but the file
		// has one name.
		dropCreatorsTemp(fsys, name, f)
		fi, err = check(f, name, single)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// errHardLinked marks check's refusal of a file with another name.
var errHardLinked = errors.New("a hard link")

// dropCreatorsTemp removes the temp names that create linked to the same
// file as name: create links its temp into place and then removes it, so
// an opener can come between the two, or find the temp left for good by
// a creator killed there. Only names of create's own temp shape, in the
// same directory, that are the very file f is, are removed; a file that
// still has another name after that (a planted link to someone's file) is
// refused as before. It reports whether it removed any.
func dropCreatorsTemp(fsys vfs.FS, name string, f vfs.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	id, ok := checked.IDOf(fi)
	if !ok {
		return false
	}
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		return false
	}
	removed := false
	for _, e := range ents {
		if !isTempOf(e.Name(), base) {
			continue
		}
		tmp := filepath.Join(dir, e.Name())
		tfi, err := fsys.Lstat(tmp)
		if err != nil || !tfi.Mode().IsRegular() {
			continue
		}
		if tid, ok := checked.IDOf(tfi); ok && tid == id {
			if err := fsys.Remove(tmp); err == nil || errors.Is(err, fs.ErrNotExist) {
				removed = true
			}
		}
	}
	return removed
}

// isTempOf reports whether n has the shape TempName(base) gives.
func isTempOf(n, base string) bool {
	probe := TempName(base)
	got, ok := ParseTempName(n)
	want, _ := ParseTempName(probe)
	return ok && got == want
}

// check returns what the open file f says of itself, if it is a regular
// file (with a single name, if single).
func check(f vfs.File, name string, single bool) (fs.FileInfo, error) {
	fi, n, ok, err := inspect(f)
	if err != nil {
		return nil, err
	}
	if err := regular(fi); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if single {
		if ok && n > 1 {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: it has %d names (%w)", errs.ErrUnsafeFile, n, errHardLinked)}
		}
	}
	return fi, nil
}

// regular refuses what is not a regular file, saying what it is.
func regular(fi fs.FileInfo) error {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		return nil
	case m&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: it is a symbolic link: %w", errs.ErrUnsafeFile, syscall.ELOOP)
	case m.IsDir():
		return fmt.Errorf("%w: it is a directory: %w", errs.ErrUnsafeFile, syscall.EISDIR)
	case m&fs.ModeNamedPipe != 0:
		return fmt.Errorf("%w: it is a FIFO", errs.ErrUnsafeFile)
	case m&fs.ModeSocket != 0:
		return fmt.Errorf("%w: it is a socket", errs.ErrUnsafeFile)
	case m&fs.ModeDevice != 0:
		return fmt.Errorf("%w: it is a device", errs.ErrUnsafeFile)
	}
	return fmt.Errorf("%w: it is not a regular file (%v)", errs.ErrUnsafeFile, m.Type())
}

// openError says what an open with O_NOFOLLOW found. A link makes the
// open fail with ELOOP on Linux and macOS but EMLINK on FreeBSD and EFTYPE
// on NetBSD; a directory opened for writing fails with EISDIR. Both are
// refused as unsafe; the name is looked at only to say so.
func openError(fsys vfs.FS, name string, err error) error {
	var pe *fs.PathError
	cause := err
	if errors.As(err, &pe) {
		cause = pe.Err
	}
	if errors.Is(cause, syscall.EISDIR) {
		return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: it is a directory: %w", errs.ErrUnsafeFile, cause)}
	}
	if isLinkErrno(cause) {
		if fi, lerr := fsys.Lstat(name); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: it is a symbolic link: %w", errs.ErrUnsafeFile, syscall.ELOOP)}
		}
	}
	return err
}

// Adopt gives f, a file this process has just created and nobody else can
// have open yet, the attributes a: the owner and group when running as
// root, the group when not (where the caller belongs to it; where it does
// not, the group's permission bits are dropped, as they would grant a
// stranger group access), and then the permission bits. A chown that
// changes nothing is not made.
func Adopt(f vfs.File, a Attr) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	p := a.Perm
	if uid, gid, ok := vfs.Owner(fi); ok && a.Owned && (uid != a.UID || gid != a.GID) {
		switch {
		case os.Geteuid() == 0:
			if err := f.Chown(a.UID, a.GID); err != nil {
				return err
			}
		case gid != a.GID:
			if err := f.Chown(-1, a.GID); err != nil {
				if !errors.Is(err, fs.ErrPermission) {
					return err
				}
				if p == 0 {
					p = fi.Mode().Perm()
				}
				p &^= 0o070
			}
		}
	}
	if p != 0 && p != fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) {
		return f.Chmod(p)
	}
	return nil
}

// OpenLock opens the lock file name that guards data, with flag
// (os.O_RDONLY for a shared lock, os.O_RDWR for an exclusive one), creating
// it if missing with the attributes Of(data). It refuses what OpenSingle
// refuses. A lock file this process owns whose attributes differ from
// Of(data) is given them (a lock made before its data existed, or by an
// older version that made every lock 0600 and root's): changing it cannot
// touch anything else, as it is a regular file with no other name.
func OpenLock(fsys vfs.FS, name, data string, flag int) (vfs.File, error) {
	for range 16 {
		f, fi, err := OpenSingle(fsys, name, flag)
		if err == nil {
			if err := heal(fsys, f, fi, data); err != nil {
				f.Close()
				return nil, err
			}
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		a, err := Of(fsys, data)
		if err != nil {
			return nil, err
		}
		f, err = create(fsys, name, flag, a)
		if errors.Is(err, fs.ErrExist) {
			continue // made by someone else meanwhile: use theirs
		}
		return f, err
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("the file keeps appearing and vanishing")}
}

// heal gives a lock file this process owns the attributes Of(data).
func heal(fsys vfs.FS, f vfs.File, fi fs.FileInfo, data string) error {
	uid, gid, ok := vfs.Owner(fi)
	euid := os.Geteuid()
	if !ok || uid != euid {
		return nil // not ours to change (and on Windows, nothing to change)
	}
	a, err := Of(fsys, data)
	if err != nil || !a.Owned {
		return nil // the lock works as it is; the next open tries again
	}
	if euid != 0 {
		a.UID = uid // only root gives files away
	}
	if a.UID == uid && a.GID == gid && a.Perm == fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) {
		return nil
	}
	// Where the group cannot be given (the caller is not in it), Adopt
	// leaves the group's bits off, and this costs a failed chown per open.
	err = Adopt(f, a)
	if errors.Is(err, fs.ErrPermission) {
		return nil
	}
	return err
}

// create makes the lock file name with the attributes a. Where a has an
// owner to give, the file is made under a temp name, given its attributes
// and then linked into place, so that nobody ever finds it with the wrong
// owner or mode; an existing name of any kind fails with fs.ErrExist.
// Where hard links are not supported, or there are no owners (Windows), it
// is created in place with O_EXCL and given its attributes at once.
func create(fsys vfs.FS, name string, flag int, a Attr) (vfs.File, error) {
	flag = flag&^(os.O_RDONLY|os.O_WRONLY|os.O_RDWR) | os.O_RDWR
	if !a.Owned {
		return createInPlace(fsys, name, flag, a)
	}
	tmp := filepath.Join(filepath.Dir(name), TempName(filepath.Base(name)))
	f, err := fsys.OpenFile(tmp, flag|os.O_CREATE|os.O_EXCL|vfs.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	if err := Adopt(f, a); err != nil {
		f.Close()
		fsys.Remove(tmp)
		return nil, err
	}
	err = fsys.Link(tmp, name)
	// Should the remove fail, the temp name is a second name of the lock
	// until CleanTemp removes it; the open file is the lock either way.
	fsys.Remove(tmp)
	if err == nil {
		return f, nil
	}
	f.Close()
	if LinkUnsupported(err) {
		return createInPlace(fsys, name, flag, a)
	}
	return nil, err
}

func createInPlace(fsys vfs.FS, name string, flag int, a Attr) (vfs.File, error) {
	perm := a.Perm
	if perm == 0 {
		perm = 0o600
	}
	f, err := fsys.OpenFile(name, flag|os.O_CREATE|os.O_EXCL|vfs.O_NOFOLLOW, perm)
	if err != nil {
		return nil, err
	}
	if err := Adopt(f, a); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// LinkUnsupported reports a filesystem that cannot make a hard link (FAT,
// some network filesystems, a file at its link limit), as opposed to a
// failure such as a full disk, which a copy would only repeat.
func LinkUnsupported(err error) bool {
	return errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EPERM) ||
		errors.Is(err, syscall.EMLINK) || errors.Is(err, syscall.EXDEV)
}

// Temp files are named ".<base>.<token>.tmp": hidden, beside the file they
// become, and recognisable. The token is 12 characters of lower-case
// base32, 60 random bits, so concurrent writers never collide. A base
// longer than maxTempBase bytes is cut (at a character boundary), so that
// the name stays within NAME_MAX.
const (
	tempSuffix  = ".tmp"
	tokenLen    = 12
	tokenChars  = "abcdefghijklmnopqrstuvwxyz234567"
	maxTempBase = 200
)

// TempName names a temp file as durable does (".name.<token>.tmp"), so
// that durable.CleanTemp and fsck recognise a leftover. It is the only
// place that builds the name, and ParseTempName the only one that reads it
// (durable.ParseTempName exports it).
func TempName(base string) string {
	var tok [tokenLen]byte
	r := rand.Uint64()
	for i := range tok {
		tok[i] = tokenChars[r&31]
		r >>= 5
	}
	if len(base) > maxTempBase {
		cut := maxTempBase
		for cut > 0 && !utf8.RuneStart(base[cut]) {
			cut--
		}
		base = base[:cut]
	}
	return "." + base + "." + string(tok[:]) + tempSuffix
}

// ParseTempName reports whether name (a base name) has the shape TempName
// gives, and returns the base it was made for (cut as TempName cuts it).
func ParseTempName(name string) (base string, ok bool) {
	if !strings.HasPrefix(name, ".") || !strings.HasSuffix(name, tempSuffix) {
		return "", false
	}
	rest := strings.TrimSuffix(name[1:], tempSuffix)
	if len(rest) < tokenLen+2 || rest[len(rest)-tokenLen-1] != '.' {
		return "", false
	}
	for _, c := range []byte(rest[len(rest)-tokenLen:]) {
		if strings.IndexByte(tokenChars, c) < 0 {
			return "", false
		}
	}
	return rest[:len(rest)-tokenLen-1], true
}

// ReadFile reads the whole sidecar name, which OpenSingle must accept: what
// it holds may end up in the caller's data (a backup restored), so a hard
// link to some file elsewhere is refused too.
func ReadFile(fsys vfs.FS, name string) ([]byte, error) {
	f, _, err := OpenSingle(fsys, name, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// Mkdir makes the directory name, which holds sidecars of data (a
// journal's evidence), with data's owner and group and mode 0700 plus the
// group and other bits Perm grants: made 0700, so that nobody else can
// enter it until it has its owner, then given its attributes through an
// open descriptor that did not follow a link. An existing directory is
// left as it is; anything else at name is refused. Either way the parent
// is fsynced, so that the directory's name is durable before anything
// that goes into it is acknowledged.
func Mkdir(fsys vfs.FS, name, data string) error {
	a, err := Of(fsys, data)
	if err != nil {
		return err
	}
	merr := fsys.Mkdir(name, 0o700)
	if merr != nil && !errors.Is(merr, fs.ErrExist) {
		return merr
	}
	f, err := fsys.OpenFile(name, os.O_RDONLY|vfs.O_NOFOLLOW|nonBlock, 0)
	if err != nil {
		return openError(fsys, name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		var err error = syscall.ENOTDIR
		if !fi.Mode().IsRegular() {
			err = regular(fi)
		}
		return &fs.PathError{Op: "mkdir", Path: name, Err: err}
	}
	if merr == nil {
		// Ours: directories need x where files need r, granted with
		// the r bits; the owner and mode are made durable with it.
		a.Perm = 0o700 | a.Perm&0o066 | a.Perm&0o044>>2
		if err := Adopt(f, a); err != nil {
			return err
		}
		if err := syncOpenDir(fsys, f, name); err != nil {
			return err
		}
	}
	// Made by us or found (its maker may not have synced its parent yet):
	// what goes into it is durable only once its name in the parent is.
	return fsys.SyncDir(filepath.Dir(name))
}
