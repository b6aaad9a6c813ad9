package jsonl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/dirsync"
	"github.com/durable-go/durable/internal/errs"
	"github.com/durable-go/durable/internal/follow"
	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/vfs"
)

// ErrInvalidJSON is wrapped by the error AppendRaw and AppendRawBatch return
// for input that is not one JSON value, and by Append's when v cannot be
// marshalled. Nothing is written then.
var ErrInvalidJSON = errors.New("jsonl: invalid JSON")

// Options configure Open and Repair. The zero value (or nil) gives the full
// guarantee.
type Options struct {
	// FS is the filesystem to use; vfs.OS{} by default. The cross-process
	// lock is taken only on vfs.OS; on any other FS (the crash model, a
	// fault injector) Files on the same FS value and path exclude each
	// other within the process only.
	FS vfs.FS
	// Perm is the mode of a new file, less the umask; 0o600 by default.
	// Evidence files get the mode of the file they come from.
	Perm fs.FileMode
	// Durability is durable.Full by default: an Append returns only after the
	// fdatasync that covers its line. durable.Cache skips that fsync (and the
	// directory fsync at Open), for logs that may lose their last lines in a
	// power cut: an acknowledged line then survives a crash or kill -9 of the
	// process, because it was handed to the kernel in one write, but not power
	// loss. Even then the append that takes the file past a multiple of 256
	// KiB fsyncs, once per 256 KiB written, so that what a power cut can
	// damage stays within the end of the file that Open checks. Repairs are
	// always made durable.
	Durability durable.Durability
	// AllowCorrupt lets Open (and Repair) go on when a line in the middle of
	// the part they read is not valid JSON (Open reads only the last 768 KiB
	// or so of a large file; Repair reads it all). By default they refuse with
	// an error wrapping durable.ErrCorrupt that names the line and its byte
	// offset, and change nothing.
	//
	// Appending after such a line is safe, which is why this option
	// exists: a JSON Lines reader finds the next line at the next newline,
	// so the lines after the damage stay readable (unlike in a framed log,
	// where appending after garbage makes later records unreachable). The
	// corrupt lines are left in place, untouched, as their own evidence,
	// and listed in the File's Report; Scan keeps reporting them.
	AllowCorrupt bool
	// OnRepair, if set, is called after every repair of the file's end,
	// by Open or before an append (when another process died in the
	// middle of writing a line). The repair has already been made durable.
	OnRepair func(RepairReport)

	// batch replaces maxBatch in tests (export_test.go), so that crash
	// tests of the tail check work on files of kilobytes.
	batch int64
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.FS == nil {
		c.FS = vfs.OS{}
	}
	if c.Perm == 0 {
		c.Perm = 0o600
	}
	return c
}

// maxBatch bounds the bytes one group commit writes at once, so that one
// write stays a reasonable size. A single larger request is written in
// pieces of at most maxBatch bytes (or one line): with durable.Full each
// piece is fsynced before the next is written, so a crash can leave at most
// the last piece unsynced; with durable.Cache the file is fsynced whenever
// it grows past a multiple of maxBatch. That bound is what lets Open check
// only the file's end (see tail.go) and tell a crash's leftovers from
// damage (see leftovers).
const maxBatch = 256 << 10

// batchSize is maxBatch, or the smaller size a test sets so that its crash
// states stay small.
func (o *Options) batchSize() int64 {
	if o.batch > 0 {
		return o.batch
	}
	return maxBatch
}

// unsyncedWindow is how far from the end of the file a crash may have left
// unsynced lines after a lost block: the last piece written under
// durable.Full; under durable.Cache, where Open reads only the file's end
// (which holds everything a crash can have left unsynced), anywhere in what
// was read.
func (o *Options) unsyncedWindow() int64 {
	if o.Durability == durable.Full {
		return o.batchSize()
	}
	return math.MaxInt64
}

// pieces splits data, whole lines, into writes of at most max bytes each, a
// longer line alone.
func pieces(data []byte, max int64) [][]byte {
	var out [][]byte
	for int64(len(data)) > max {
		n := bytes.LastIndexByte(data[:max], '\n') + 1
		if n == 0 {
			n = bytes.IndexByte(data, '\n') + 1
		}
		if n == 0 {
			n = len(data)
		}
		out = append(out, data[:n])
		data = data[n:]
	}
	if len(data) > 0 {
		out = append(out, data)
	}
	return out
}

// File is a JSON Lines file open for durable appends. Its methods are safe
// for concurrent use; concurrent appends share one write and one fsync.
type File struct {
	path string
	o    Options
	f    vfs.File
	lk   locker
	q    group.Queue[*request]

	mu     sync.RWMutex // Append holds it shared, Close exclusively
	closed bool
	report RepairReport

	// broken is set when an fsync failed and the lines it should have
	// covered could not be taken back: the state of the file's end is
	// unknown, so appends stop until the file is opened again. Guarded by
	// the queue: only the running batch reads or writes it.
	broken error
}

// request is one Append: its lines, ready to write, and its outcome.
type request struct {
	ctx     context.Context
	data    []byte // one or more lines, each ending in '\n'
	err     error
	repairs []RepairReport // repairs its batch made, for OnRepair
}

// Open opens the JSON Lines file path for appending, creating it if it does
// not exist (its directory must exist), and repairs its end.
//
// Under the file's lock, Open reads the end of the file that a crash can
// have left damaged: all of a file up to 768 KiB, and of a larger one its
// last 768 KiB or so, from a line start (more when its last line is longer),
// since everything before the last fsync is on disk as it was written (the
// package doc says why that bound holds). So opening costs the same for a
// file of a gigabyte as for one of a megabyte. Report().CheckedFrom
// says where the check started. A full check of every line is Scan's,
// Repair's and durable fsck's job.
//
// If a crash left a torn tail (a last line cut short, zero bytes, lines of
// zero bytes at the very end), Open first writes those bytes durably to an
// evidence file beside it, path + ".torn." + the time in Unix nanoseconds,
// and only then truncates the file and fsyncs it; nothing is lost, and the
// Report says what was cut. A complete last value that only lacks its
// newline is kept and terminated. A corrupt line in the part read is never
// cut: Open returns an error wrapping durable.ErrCorrupt (errors.As gives
// the *CorruptError with its offset, and its line number when the whole
// file was read) and changes nothing, unless Options.AllowCorrupt is set.
//
// With durable.Full, Open also fsyncs the directory, so that the file's
// name survives a power cut. It waits for the lock at most
// lock.DefaultTimeout (the error then wraps durable.ErrLocked).
func Open(path string, opts *Options) (*File, error) {
	o := opts.withDefaults()
	if path == "" {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrInvalid}
	}
	// A link is followed (so that the lock and the evidence files sit
	// beside the real file), but never another user's in a shared
	// directory, and never one planted after it was looked at.
	f, path, err := follow.Open(o.FS, path, os.O_RDWR|os.O_APPEND|os.O_CREATE, o.Perm)
	if err != nil {
		return nil, err
	}
	jf := &File{path: path, o: o, f: f, lk: newLocker(o.FS, path)}
	if err := jf.open(); err != nil {
		f.Close()
		jf.lk.close()
		return nil, err
	}
	if jf.report.Changed() && o.OnRepair != nil {
		o.OnRepair(jf.report)
	}
	return jf, nil
}

func (f *File) open() error {
	if f.o.Durability == durable.Full {
		// The file may be new, or created by someone who died before
		// syncing its directory: without this fsync an acknowledged line
		// could vanish with the file's name in a power cut.
		// So may the directory, made by someone who never synced its
		// parent: the whole path is made durable, once per process.
		dir := filepath.Dir(f.path)
		if err := dirsync.MkdirAll(f.o.FS, dir, 0o700, f.o.FS.SyncDir); err != nil {
			return f.wrap("open", err)
		}
		if err := f.o.FS.SyncDir(dir); err != nil {
			return f.wrap("open", err)
		}
	}
	unlock, err := f.lk.lock(context.Background())
	if err != nil {
		return f.wrap("open", err)
	}
	defer unlock()
	rep, err := repairFile(f.path, f.f, &f.o, false)
	f.report = rep
	return err
}

// Path returns the file's name.
func (f *File) Path() string { return f.path }

// Report says what Open found and repaired.
func (f *File) Report() RepairReport { return f.report }

// Append writes v as one line of JSON (json.Marshal, which escapes newlines
// within strings, so the line is always one line) and returns once the line
// is durable.
//
// The line is written with one write on an O_APPEND descriptor, under the
// cross-process lock, after checking that the file ends at a line boundary
// (a process that died in the middle of a line is repaired first). Appends
// running concurrently in the process are written together and share one
// fdatasync; nobody is acknowledged by an fsync that began before their line
// was written.
//
// If ctx is done before the line is written, Append returns ctx's error
// and nothing is written (a line queued behind other appenders is still
// only dropped when its batch starts); once written, Append waits for the
// fsync. The wait for the lock ends when the contexts of every append in
// the batch are done, or after lock.DefaultTimeout if none has a deadline. An
// error means the line is not acknowledged. Append tries to take back what
// it wrote (so that a failed line does not appear), but when even that
// fails, the line may still be in the file: callers that retry should
// carry an id to recognise duplicates.
func (f *File) Append(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return f.wrap("append", fmt.Errorf("%w: %w", ErrInvalidJSON, err))
	}
	if bytes.ContainsAny(b, "\r\n") {
		// json.Marshal escapes control characters; never embed a newline.
		return f.wrap("append", fmt.Errorf("%w: marshalled value spans lines", ErrInvalidJSON))
	}
	return f.append(ctx, append(b, '\n'))
}

// AppendRaw appends line, which must be one JSON value, as Append does. A
// trailing newline is optional; a value spread over several lines (pretty
// printed) is compacted onto one. Input that is not one JSON value is
// refused with an error wrapping ErrInvalidJSON, and nothing is written.
func (f *File) AppendRaw(ctx context.Context, line []byte) error {
	b, err := normalize(line)
	if err != nil {
		return f.wrap("append", err)
	}
	return f.append(ctx, b)
}

// AppendRawBatch appends lines in order, as AppendRaw would one by one, but
// with one write and one fsync: they are acknowledged together. Every line
// is checked first; if any is not one JSON value, nothing is written and
// the error names its index.
func (f *File) AppendRawBatch(ctx context.Context, lines [][]byte) error {
	var data []byte
	for i, line := range lines {
		b, err := normalize(line)
		if err != nil {
			return f.wrap("append", fmt.Errorf("line %d of the batch: %w", i+1, err))
		}
		data = append(data, b...)
	}
	if len(data) == 0 {
		return nil
	}
	return f.append(ctx, data)
}

// normalize checks that line is one JSON value and returns it on one line,
// terminated by a newline.
func normalize(line []byte) ([]byte, error) {
	v := trimSpace(line)
	if !json.Valid(v) {
		if len(v) == 0 {
			return nil, fmt.Errorf("%w: empty line", ErrInvalidJSON)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalidJSON, invalidReason(v))
	}
	if bytes.ContainsAny(v, "\r\n") {
		var c bytes.Buffer
		if err := json.Compact(&c, v); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidJSON, err)
		}
		v = c.Bytes()
	}
	b := make([]byte, len(v)+1)
	copy(b, v)
	b[len(v)] = '\n'
	return b, nil
}

func (f *File) append(ctx context.Context, data []byte) error {
	r := &request{ctx: ctx, data: data}
	err := f.do(r)
	// Outside the queue and the lock, so that the callback may append.
	if f.o.OnRepair != nil {
		for _, rep := range r.repairs {
			f.o.OnRepair(rep)
		}
	}
	return err
}

func (f *File) do(r *request) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return f.wrap("append", errs.ErrClosed)
	}
	if err := r.ctx.Err(); err != nil {
		return f.wrap("append", err)
	}
	err := f.q.Do(r.ctx, r, f.joinBatch, f.runBatch)
	if err != nil && err == r.ctx.Err() {
		err = f.wrap("append", err) // it left before its batch wrote it
	}
	if err == nil {
		err = r.err
	}
	return err
}

// joinBatch keeps one write to about maxBatch bytes.
func (f *File) joinBatch(batch []*request, r *request) bool {
	n := int64(len(r.data))
	for _, b := range batch {
		n += int64(len(b.data))
	}
	return n <= f.o.batchSize()
}

// runBatch writes and syncs one batch: lock, check the end, one write,
// one fdatasync, unlock. It returns the batch's error; a request dropped
// because its context ended gets its own.
func (f *File) runBatch(b *group.Batch[*request]) error {
	batch := b.Items()
	// The lock is worth waiting for while anyone still wants it.
	ctx, stop := b.Context()
	defer stop()
	unlock, err := f.lk.lock(ctx)
	if err != nil {
		return f.wrap("append", err)
	}
	defer unlock()
	if f.broken != nil {
		return f.wrap("append", f.broken)
	}

	var data []byte
	var first *request // told of repairs
	for i, r := range batch {
		if !b.Claim(i) {
			continue // its context ended: not written
		}
		if first == nil {
			first = r
		}
		data = append(data, r.data...)
	}
	if len(data) == 0 {
		return nil
	}

	size, rep, err := f.lineBoundary()
	if rep.Changed() {
		first.repairs = append(first.repairs, rep)
	}
	if err != nil {
		return f.wrap("append", err)
	}
	parts := [][]byte{data}
	if !mutate.JSONLOnePiece {
		parts = pieces(data, f.o.batchSize())
	}
	// unsynced says the pieces written so far need an fsync before the
	// next is written (and before the batch is acknowledged): always with
	// durable.Full; with durable.Cache when the file grew past a multiple
	// of the batch size, so that a power cut can damage only the file's
	// last few batches, which is all Open reads.
	unsynced := false
	end := size
	var err2 error
	for _, part := range parts {
		if unsynced && !mutate.JSONLAckBeforeSync {
			// The piece before is synced before this one is written, so
			// that only the last piece can be lost in part.
			if err2 = datasync(f.f); err2 != nil {
				break
			}
		}
		n, err := f.f.Write(part)
		if err == nil && n < len(part) {
			err = io.ErrShortWrite
		}
		if err != nil {
			if n > 0 || end > size {
				// Take the partial write back: these bytes are ours, and
				// nobody else wrote after them while we hold the lock. If
				// the truncate fails, the next append repairs the end.
				truncate(f.o.FS, f.path, f.f, size)
			}
			return f.wrap("append", err)
		}
		unsynced = f.o.Durability == durable.Full || f.crossesSyncPoint(end, end+int64(n))
		end += int64(n)
	}
	if !unsynced && err2 == nil {
		return nil
	}
	if mutate.JSONLAckBeforeSync {
		return nil // broken on purpose: acknowledged without the fsync
	}
	if err2 == nil {
		err2 = datasync(f.f)
	}
	if err := err2; err != nil {
		// An fsync error is final: never retried into a success. Take the
		// lines back so that they do not turn up later, unacknowledged; if
		// that cannot be made durable either, stop appending.
		if terr := truncate(f.o.FS, f.path, f.f, size); terr != nil {
			f.broken = fmt.Errorf("fsync failed (%w) and the lines could not be taken back (%w); open the file again", err, terr)
		} else if serr := datasync(f.f); serr != nil {
			f.broken = fmt.Errorf("fsync failed (%w), again after taking the lines back (%w); open the file again", err, serr)
		}
		return f.wrap("append", err)
	}
	return nil
}

// lineBoundary makes sure the file ends with a newline (or is empty),
// repairing a torn last line that a process which died mid-write left, and
// returns the file's size. It runs under the lock.
func (f *File) lineBoundary() (int64, RepairReport, error) {
	fi, err := f.f.Stat()
	if err != nil {
		return 0, RepairReport{}, err
	}
	size := fi.Size()
	if size == 0 || mutate.JSONLSkipRepair {
		return size, RepairReport{}, nil
	}
	var last [1]byte
	if err := readFull(f.f, last[:], size-1); err != nil {
		return 0, RepairReport{}, err
	}
	if last[0] == '\n' {
		return size, RepairReport{}, nil
	}
	rep, err := repairEnd(f.path, f.f, &f.o, size)
	return rep.SizeAfter, rep, err
}

// Close waits for appends in progress, then closes the file. Every append
// that returned nil is already durable; Close adds nothing to that. A
// second Close, and any Append after Close, returns an error wrapping
// durable.ErrClosed.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return f.wrap("close", errs.ErrClosed)
	}
	f.closed = true
	err := f.f.Close()
	if lerr := f.lk.close(); err == nil {
		err = lerr
	}
	return err
}

func (f *File) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == f.path {
		return err
	}
	return &fs.PathError{Op: op, Path: f.path, Err: err}
}
