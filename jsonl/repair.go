package jsonl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/follow"
	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/vfs"
)

// EvidenceInfix is what an evidence file's name adds to the file's name,
// before the time: "app.jsonl.torn.1700000000000000000".
const EvidenceInfix = ".torn."

// maxReported bounds the corrupt lines a report lists; it counts them all.
const maxReported = 100

// RepairReport says what Open, Repair or an append found at the end of a
// file and what it did about it.
type RepairReport struct {
	Path       string `json:"path"`
	SizeBefore int64  `json:"size_before"`
	SizeAfter  int64  `json:"size_after"`
	// Lines is the number of JSON values in the part of the file that was
	// read, after the repair: the whole file for Repair, the lines from
	// CheckedFrom on for Open. An append's repair counts none.
	Lines int `json:"lines"`
	// CheckedFrom is where the check started: 0 when the whole file was
	// read, the offset of a line start near the end when Open read only
	// the part a crash can have damaged (see Open). Corrupt and line
	// numbers cover only that part; line numbers after a skipped part are
	// not known and reported as 0.
	CheckedFrom int64 `json:"checked_from,omitempty"`

	// The torn tail that was cut: where it started, how long it was, the
	// line it started on (when known), whether it held zero bytes, a
	// quoted excerpt, and the evidence file it was moved to. CutBytes is
	// 0 when nothing was cut.
	CutOffset int64  `json:"cut_offset"`
	CutBytes  int64  `json:"cut_bytes"`
	CutLine   int    `json:"cut_line,omitempty"`
	Zeros     bool   `json:"zeros,omitempty"`
	Excerpt   string `json:"excerpt,omitempty"`
	Evidence  string `json:"evidence,omitempty"`
	// Terminated says the last line was a complete value without its
	// newline, and a newline was added.
	Terminated bool `json:"terminated,omitempty"`

	// Corrupt lists corrupt lines in the middle of the file (at most 100;
	// CorruptLines counts them all). They are never cut.
	Corrupt      []*CorruptError `json:"corrupt,omitempty"`
	CorruptLines int             `json:"corrupt_lines,omitempty"`
}

// Changed reports whether the repair changed the file.
func (r RepairReport) Changed() bool { return r.CutBytes > 0 || r.Terminated }

func (r RepairReport) String() string {
	var parts []string
	if r.CutBytes > 0 {
		what := "a torn last line"
		if r.Zeros {
			what = "a torn tail with zero bytes"
		}
		at := fmt.Sprintf("byte %d", r.CutOffset)
		if r.CutLine > 0 {
			at = fmt.Sprintf("line %d, byte %d", r.CutLine, r.CutOffset)
		}
		parts = append(parts, fmt.Sprintf("cut %s (%d bytes at %s: %s), saved in %s", what, r.CutBytes, at, r.Excerpt, r.Evidence))
	}
	if r.Terminated {
		parts = append(parts, "added the missing newline after the last line")
	}
	if r.CorruptLines > 0 {
		first := fmt.Sprintf("byte %d", r.Corrupt[0].Offset)
		if r.Corrupt[0].Line > 0 {
			first = fmt.Sprintf("line %d, byte %d", r.Corrupt[0].Line, r.Corrupt[0].Offset)
		}
		parts = append(parts, fmt.Sprintf("%d corrupt line(s) in the middle left in place (first: %s)", r.CorruptLines, first))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%s: nothing to repair", r.Path)
	}
	return r.Path + ": " + strings.Join(parts, "; ")
}

// Repair repairs the end of the JSON Lines file path as Open does, and
// reports what it did: under the lock, a torn tail is written durably to an
// evidence file beside it and then cut off, and a complete last value
// without its newline is terminated. Unlike Open it reads the whole file:
// a corrupt line anywhere in the middle is reported, with the report, in an
// error wrapping durable.ErrCorrupt, and nothing is changed, unless
// opts.AllowCorrupt is set (the tail is then repaired and the corrupt lines
// listed and left alone). The file must exist.
func Repair(path string, opts *Options) (RepairReport, error) {
	o := opts.withDefaults()
	f, path, err := follow.Open(o.FS, path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return RepairReport{Path: path}, err
	}
	rep, err := repairOpen(path, f, &o)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return rep, err
}

// RepairFile is Repair of a file the caller has opened for reading and
// appending (os.O_RDWR|os.O_APPEND), for a caller that must repair exactly
// the file it checked rather than whatever its name leads to by then: open
// the name without following links and compare it by fstat first, then
// pass the descriptor here. The lock is the sidecar of f.Name(), which is
// also the name the evidence file is made after; opts.FS is where they are
// made. f stays open.
func RepairFile(f vfs.File, opts *Options) (RepairReport, error) {
	o := opts.withDefaults()
	return repairOpen(f.Name(), f, &o)
}

func repairOpen(path string, f vfs.File, o *Options) (RepairReport, error) {
	lk := newLocker(o.FS, path)
	defer lk.close()
	unlock, err := lk.lock(context.Background())
	if err != nil {
		return RepairReport{Path: path}, &fs.PathError{Op: "repair", Path: path, Err: err}
	}
	rep, err := repairFile(path, f, o, true)
	unlock()
	if rep.Changed() && o.OnRepair != nil {
		o.OnRepair(rep)
	}
	return rep, err
}

// repairFile reads the file, which the caller has locked, and repairs its
// end; see Open. It reads the whole file when whole is set, otherwise only
// the end that a crash can have damaged (see tailStart).
func repairFile(path string, f vfs.File, o *Options, whole bool) (RepairReport, error) {
	rep := RepairReport{Path: path}
	fi, err := f.Stat()
	if err != nil {
		return rep, &fs.PathError{Op: "repair", Path: path, Err: err}
	}
	if !fi.Mode().IsRegular() {
		// A FIFO or a device planted at the name: reading it could block
		// for ever, and cutting it means nothing.
		return rep, &fs.PathError{Op: "repair", Path: path, Err: fmt.Errorf("not a regular file (%s)", fi.Mode().Type())}
	}
	if n, ok := vfs.Links(fi); ok && n > 1 {
		// Lines are appended and a torn tail cut in place: with other
		// names, that would change files elsewhere, which may not be the
		// caller's (a link planted where the file was to be made).
		return rep, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: %d names; appending in place would change them all", durable.ErrHardLinked, n)}
	}
	size := fi.Size()
	rep.SizeBefore, rep.SizeAfter = size, size
	var from int64
	if !whole {
		if from, err = tailStart(f, size, o.batchSize()); err != nil {
			return rep, &fs.PathError{Op: "repair", Path: path, Err: err}
		}
	}
	rep.CheckedFrom = from
	t, err := walk(path, io.NewSectionReader(f, from, size-from), from, o.unsyncedWindow(), false, func(ev event) bool {
		if ev.corrupt != nil {
			if rep.CorruptLines++; len(rep.Corrupt) < maxReported {
				rep.Corrupt = append(rep.Corrupt, ev.corrupt)
			}
		}
		return true
	})
	if err != nil {
		return rep, &fs.PathError{Op: "repair", Path: path, Err: err}
	}
	rep.Lines = t.values
	if rep.CorruptLines > 0 && !o.AllowCorrupt {
		in := "in all"
		if from > 0 {
			in = fmt.Sprintf("in the %d bytes read", size-from)
		}
		return rep, fmt.Errorf("%w (%d corrupt line(s) %s; nothing was changed; Options.AllowCorrupt appends anyway)",
			rep.Corrupt[0], rep.CorruptLines, in)
	}
	if mutate.JSONLSkipRepair {
		return rep, nil // broken on purpose: the torn tail stays
	}
	rep.CutLine = t.cutLine
	rep.Zeros = t.zeros
	if err := cutTail(path, f, o, size, t.cutAt, t.addNewline, fi.Mode().Perm(), &rep); err != nil {
		return rep, err
	}
	if t.cutBytes() == 0 {
		rep.CutLine = 0
	}
	return rep, nil
}

// repairEnd repairs the last line of the file, which the caller has
// locked, knowing that it does not end in a newline: the bytes after the
// last newline are cut unless they are a complete value. It reads only that
// line; lines before it were checked when they were written or opened.
func repairEnd(path string, f vfs.File, o *Options, size int64) (RepairReport, error) {
	rep := RepairReport{Path: path, SizeBefore: size, SizeAfter: size}
	start, seg, err := lastSegment(f, size)
	if err != nil {
		return rep, &fs.PathError{Op: "repair", Path: path, Err: err}
	}
	keep, addNewline := planSegment(seg)
	rep.Zeros = bytes.IndexByte(seg[keep:], 0) >= 0
	fi, err := f.Stat()
	if err != nil {
		return rep, &fs.PathError{Op: "repair", Path: path, Err: err}
	}
	err = cutTail(path, f, o, size, start+int64(keep), addNewline, fi.Mode().Perm(), &rep)
	return rep, err
}

// planSegment judges the last, unterminated, line of a file: it keeps the
// first keep bytes, and a newline must be added after them, when they are a
// complete value; otherwise keep is 0 and the whole segment is torn.
func planSegment(seg []byte) (keep int, addNewline bool) {
	z := len(seg)
	for z > 0 && seg[z-1] == 0 {
		z--
	}
	if complete(trimSpace(seg[:z])) {
		return z, true
	}
	return 0, false
}

// lastSegment returns the bytes after the last newline before size, and
// where they start, reading backwards in blocks.
func lastSegment(f vfs.File, size int64) (int64, []byte, error) {
	const block = 4 << 10
	var seg []byte
	end := size
	for end > 0 {
		n := min(int64(block), end)
		buf := make([]byte, n)
		if err := readFull(f, buf, end-n); err != nil {
			return 0, nil, err
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			seg = append(buf[i+1:], seg...)
			return end - n + int64(i) + 1, seg, nil
		}
		seg = append(buf, seg...)
		end -= n
	}
	return 0, seg, nil
}

// cutTail moves the bytes from cutAt to size into an evidence file, made
// durable first, then truncates the file there, adds a newline if asked,
// and fsyncs the file. A crash at any point loses nothing: before the
// truncate the bytes are still in the file (a second evidence file may then
// hold them twice); after it they are in the evidence file.
func cutTail(path string, f vfs.File, o *Options, size, cutAt int64, addNewline bool, perm fs.FileMode, rep *RepairReport) error {
	wrap := func(err error) error { return &fs.PathError{Op: "repair", Path: path, Err: err} }
	if cutAt < size {
		cut := make([]byte, size-cutAt)
		if err := readFull(f, cut, cutAt); err != nil {
			return wrap(err)
		}
		ev, err := writeEvidence(o.FS, path, cut, perm)
		if err != nil {
			return wrap(fmt.Errorf("saving the torn tail before cutting it: %w", err))
		}
		rep.CutOffset, rep.CutBytes, rep.Evidence = cutAt, size-cutAt, ev
		rep.Excerpt = excerpt(cut)
		if err := truncate(o.FS, path, f, cutAt); err != nil {
			return wrap(err)
		}
		rep.SizeAfter = cutAt
	}
	if addNewline {
		n, err := f.Write([]byte{'\n'})
		if err == nil && n != 1 {
			err = io.ErrShortWrite
		}
		if err != nil {
			return wrap(err)
		}
		rep.Terminated = true
		rep.SizeAfter = cutAt + 1
	}
	if rep.Changed() {
		if err := f.Sync(); err != nil {
			return wrap(err)
		}
	}
	return nil
}

// writeEvidence writes data durably to a new file named after path, never
// replacing one that exists, and returns its name.
func writeEvidence(fsys vfs.FS, path string, data []byte, perm fs.FileMode) (string, error) {
	now := time.Now().UnixNano()
	var err error
	for i := range int64(100) {
		name := fmt.Sprintf("%s%s%d", path, EvidenceInfix, now+i)
		err = durable.WriteFile(name, data, perm, durable.WithFS(fsys), durable.NoClobber(), durable.SidecarOf(path))
		switch {
		case err == nil:
			return name, nil
		case !errors.Is(err, fs.ErrExist):
			return "", err
		}
	}
	return "", err
}

// excerpt quotes the start of cut bytes for a message.
func excerpt(b []byte) string {
	const n = 40
	if len(b) <= n {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q...", b[:n])
}

// readFull reads exactly len(b) bytes at off.
func readFull(f io.ReaderAt, b []byte, off int64) error {
	n, err := f.ReadAt(b, off)
	if n == len(b) {
		return nil // io.ReaderAt may report io.EOF along with the last byte
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// truncate truncates f, the file path open for appending, to size.
// Windows opens an O_APPEND file without FILE_WRITE_DATA, which SetEndOfFile
// may need; where that is refused, the truncate goes through a second
// handle opened for writing.
func truncate(fsys vfs.FS, path string, f vfs.File, size int64) error {
	err := f.Truncate(size)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	w, werr := fsys.OpenFile(path, os.O_WRONLY, 0)
	if werr != nil {
		return err
	}
	err = w.Truncate(size)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
