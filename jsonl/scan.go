package jsonl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"strings"

	"github.com/durable-go/durable/internal/errs"
	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/vfs"
)

// ErrTornTail is wrapped, together with durable.ErrCorrupt, by the error
// that reports a torn tail: the bytes at the end of a file that a crash left
// behind (a partial last line, zero bytes), which Open and Repair cut off.
var ErrTornTail = errors.New("jsonl: torn last line")

// CorruptError describes damage found in a JSON Lines file: a line in the
// middle that is not valid JSON, or (Torn) the torn tail. It wraps
// durable.ErrCorrupt, and ErrTornTail when Torn is set.
type CorruptError struct {
	Path string `json:"path,omitempty"`
	// Line is the 1-based number of the (first) line, or 0 when it is not
	// known: Open reads only the end of a large file (see Open).
	Line   int    `json:"line"`
	Offset int64  `json:"offset"` // byte offset where it starts
	Length int64  `json:"length"` // bytes, not counting the newline
	Torn   bool   `json:"torn"`   // the torn tail, rather than a line in the middle
	Reason string `json:"reason"`
}

func (e *CorruptError) Error() string {
	name := e.Path
	if name == "" {
		name = "input"
	}
	what := "line"
	if e.Torn {
		what = "torn tail at line"
	}
	if e.Line == 0 {
		what = strings.TrimSuffix(what, " at line")
		return fmt.Sprintf("jsonl: %s: %s at byte %d (%d bytes): %s", name, what, e.Offset, e.Length, e.Reason)
	}
	return fmt.Sprintf("jsonl: %s: %s %d (byte %d, %d bytes): %s", name, what, e.Line, e.Offset, e.Length, e.Reason)
}

// Unwrap returns durable.ErrCorrupt, and ErrTornTail for a torn tail.
func (e *CorruptError) Unwrap() []error {
	if e.Torn {
		return []error{errs.ErrCorrupt, ErrTornTail}
	}
	return []error{errs.ErrCorrupt}
}

// Scan reads the JSON Lines file at path and yields each line's JSON value,
// in order, without its newline. It takes no lock and changes nothing, so
// it can run while others append.
//
// It yields what Open would keep and reports what Open would cut or refuse,
// never skipping damage silently:
//   - a line in the middle that is not valid JSON is yielded as a
//     *CorruptError (wrapping durable.ErrCorrupt) with its line number and
//     byte offset; scanning goes on after it, since the next newline starts
//     a fresh line;
//   - the torn tail (a last line cut short, zero bytes a crash left, lines
//     holding zero bytes at the very end, or the leftovers of a last write
//     whose earlier block was lost and later one kept, as the package doc
//     describes) is yielded as one *CorruptError wrapping ErrTornTail, and
//     ends the scan.
//
// Blank lines are skipped. A last line without its newline is yielded if it
// is a complete JSON object, array, string or literal (Open would keep it
// and add the newline). A bare number there is reported as torn, because a
// cut-short number still parses. While another process appends, the last
// line may be a write still in progress and show up as a torn tail: scan
// again later. A read error is yielded last.
func Scan(path string) iter.Seq2[json.RawMessage, error] {
	return ScanFS(vfs.OS{}, path)
}

// ScanFS is Scan on fsys.
func ScanFS(fsys vfs.FS, path string) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
		if err != nil {
			yield(nil, err)
			return
		}
		defer f.Close()
		for v, err := range scanReader(path, f) {
			if !yield(v, err) {
				return
			}
		}
	}
}

// ScanReader is Scan on the stream r, for data that is not in a file.
// Errors name the input rather than a path.
func ScanReader(r io.Reader) iter.Seq2[json.RawMessage, error] {
	return scanReader("", r)
}

func scanReader(path string, r io.Reader) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		stopped := false
		t, err := walk(path, r, 0, maxBatch, true, func(ev event) bool {
			if ev.corrupt != nil {
				stopped = !yield(nil, ev.corrupt)
			} else {
				stopped = !yield(bytes.Clone(ev.value), nil)
			}
			return !stopped
		})
		if stopped {
			return
		}
		if err != nil {
			yield(nil, &fs.PathError{Op: "read", Path: path, Err: err})
			return
		}
		if e := t.tornError(path); e != nil {
			yield(nil, e)
		}
	}
}

// event is one line as walk classifies it: a value, or a corrupt line in
// the middle of the file.
type event struct {
	value   []byte // valid until walk reads on
	corrupt *CorruptError
}

// tail is what walk found at the end of the input: where the torn tail
// starts (cutAt == size when there is none) and whether the last line is a
// complete value that only lacks its newline.
type tail struct {
	size       int64
	cutAt      int64
	cutLine    int  // line number at cutAt
	addNewline bool // keep the last value and terminate it
	zeros      bool // the cut holds zero bytes
	values     int  // values yielded (complete lines kept)
}

func (t tail) cutBytes() int64 { return t.size - t.cutAt }

// tornError describes the torn tail, or returns nil when there is none.
func (t tail) tornError(path string) *CorruptError {
	if t.cutBytes() == 0 {
		return nil
	}
	reason := "incomplete JSON (a write cut short)"
	if t.zeros {
		reason = "zero bytes (data a crash did not write)"
	}
	return &CorruptError{Path: path, Line: t.cutLine, Offset: t.cutAt, Length: t.cutBytes(), Torn: true, Reason: reason}
}

// walk reads r line by line and classifies every line; see Scan for the
// rules. It calls fn for each value and each corrupt line in the middle, in
// file order, and stops early when fn returns false. Lines holding zero
// bytes are held back until what follows them is known: at the end of the
// input they are part of the torn tail, and so are valid lines after them
// when the whole stretch looks like what a crash leaves of unsynced
// appends (see leftovers); otherwise they are corrupt lines in the middle.
//
// r starts at byte base of the file, at a line start; offsets are the
// file's. Lines are numbered only when base is 0: after a skipped part
// their numbers are unknown and reported as 0. window is how far from the
// end such a stretch may begin (see Options.Durability); values says
// whether fn reads the values of held lines, which are then copied.
func walk(path string, r io.Reader, base, window int64, values bool, fn func(event) bool) (tail, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		t   tail
		off = base
		num int
		buf []byte
		lo  = leftovers{window: window}
	)
	t.size = base
	lineNo := func() int {
		if base > 0 {
			return 0
		}
		return num
	}
	// release gives up holding: the zero lines are damage in the middle,
	// the values are values.
	release := func() bool {
		for _, h := range lo.held {
			if h.corrupt != nil {
				h.corrupt.Reason = "zero bytes in the middle of the file"
				if !fn(event{corrupt: h.corrupt}) {
					return false
				}
				continue
			}
			t.values++
			if !fn(event{value: h.value}) {
				return false
			}
		}
		lo.reset()
		return true
	}
	for {
		line, terminated, err := readLine(br, &buf)
		if err != nil {
			return t, err
		}
		num++
		start := off
		off += int64(len(line))
		if !terminated {
			t.size = off
			finish(line, start, lineNo(), &lo, &t, fn, release)
			return t, nil
		}
		content := line[:len(line)-1]
		v := trimSpace(content)
		switch {
		case len(v) == 0:
			// A blank line: no value, and no damage either.
		case json.Valid(v):
			if lo.active() {
				lo.holdValue(v, values, off)
				if lo.sound {
					continue
				}
				if !release() {
					return t, nil
				}
				continue
			}
			t.values++
			if !fn(event{value: v}) {
				return t, nil
			}
		case bytes.IndexByte(content, 0) >= 0:
			// A line that breaks the shape ends the stretch before it,
			// and may begin a new one (a torn tail of zero lines).
			fits := zeroRunsLikeLostBlocks(content, start, -1) && off-lo.start <= lo.window
			if lo.hasValues && !fits && !release() {
				return t, nil
			}
			lo.holdZeros(&CorruptError{Path: path, Line: lineNo(), Offset: start, Length: int64(len(content))}, content, off, -1)
		default:
			if !release() {
				return t, nil
			}
			e := &CorruptError{Path: path, Line: lineNo(), Offset: start, Length: int64(len(content)), Reason: invalidReason(v)}
			if !fn(event{corrupt: e}) {
				return t, nil
			}
		}
	}
}

// leftovers is a stretch of lines, starting with one that holds zero
// bytes, that may be what a crash left of appends whose fdatasync had not
// returned: on a filesystem that writes blocks back in any order, a lost
// block of a write reads as zeros while a later block of it, holding
// complete lines, survived. Such a stretch is a torn tail, and what it
// holds was never acknowledged. It is told from damage by its shape, since
// a JSON Lines file holds no checksum:
//   - every run of zero bytes in it begins at the start of a line (the old
//     end of the file) or at a 512-byte boundary, and ends at a 512-byte
//     boundary or at the end of the file, as lost sectors and pages do
//     (JSON text never holds a zero byte, so the run is exactly the lost
//     block);
//   - it holds nothing but such lines, valid lines and blank lines;
//   - it begins at most window bytes before the end: with durable.Full
//     only the last batch can be unsynced, and a batch of several lines is
//     at most maxBatch bytes.
//
// Zero bytes anywhere else, or of another shape, are corrupt lines in the
// middle, as before.
type leftovers struct {
	window    int64
	held      []heldLine
	start     int64 // offset of the first held line
	hasValues bool  // valid lines follow the zero lines
	sound     bool  // the stretch still has the shape of crash leftovers
}

type heldLine struct {
	value   []byte        // a valid line (nil when values are not kept)
	corrupt *CorruptError // a line holding zero bytes
}

func (lo *leftovers) active() bool { return len(lo.held) > 0 }

func (lo *leftovers) reset() {
	lo.held, lo.hasValues, lo.sound = lo.held[:0], false, false
}

// holdZeros holds a line with zero bytes, content, which ends at end (the
// offset after its newline, or the end of the input).
func (lo *leftovers) holdZeros(e *CorruptError, content []byte, end, eof int64) {
	if !lo.active() {
		lo.start, lo.sound = e.Offset, !mutate.JSONLRefuseLeftovers
	}
	lo.held = append(lo.held, heldLine{corrupt: e})
	lo.sound = lo.sound && zeroRunsLikeLostBlocks(content, e.Offset, eof) && end-lo.start <= lo.window
}

// holdValue holds a valid line that follows held zero lines.
func (lo *leftovers) holdValue(v []byte, keep bool, end int64) {
	h := heldLine{}
	if keep {
		h.value = bytes.Clone(v)
	}
	lo.held = append(lo.held, h)
	lo.hasValues = true
	lo.sound = lo.sound && end-lo.start <= lo.window
}

// zeroRunsLikeLostBlocks reports whether every run of zero bytes in the
// line b, which starts at off, begins at the line's start or a 512-byte
// boundary and ends at a 512-byte boundary or at eof (-1: not the end).
func zeroRunsLikeLostBlocks(b []byte, off, eof int64) bool {
	const sector = 512
	for i := 0; i < len(b); {
		if b[i] != 0 {
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] == 0 {
			j++
		}
		if i > 0 && (off+int64(i))%sector != 0 {
			return false
		}
		if end := off + int64(j); end%sector != 0 && end != eof {
			return false
		}
		i = j
	}
	return true
}

// finish judges the last, unterminated, segment of the input (possibly
// empty) and the held-back lines before it, and fills in t.
func finish(seg []byte, segOff int64, num int, lo *leftovers, t *tail, fn func(event) bool, release func() bool) {
	eof := segOff + int64(len(seg))
	z := len(seg)
	for z > 0 && seg[z-1] == 0 {
		z--
	}
	v := trimSpace(seg[:z])
	whole := complete(v)
	if lo.active() {
		// The last segment belongs to the stretch: as a value, as zeros,
		// or as a write cut short.
		if whole {
			lo.holdValue(v, false, eof)
		}
		if bytes.IndexByte(seg, 0) >= 0 {
			lo.holdZeros(&CorruptError{Offset: segOff}, seg, eof, eof)
			lo.held = lo.held[:len(lo.held)-1]
		}
		lo.sound = lo.sound && eof-lo.start <= lo.window
		switch {
		case !lo.hasValues && !whole, lo.hasValues && lo.sound:
			// Zero lines and a torn last line, or crash leftovers: all
			// of it is the torn tail.
			first := lo.held[0].corrupt
			t.cutAt, t.cutLine, t.zeros = first.Offset, first.Line, true
			return
		}
		if whole {
			lo.held = lo.held[:len(lo.held)-1] // judged below
		}
		if !release() {
			return
		}
	}
	if whole {
		// A whole value that only lacks its newline: keep it. Zero bytes
		// after it are the torn tail.
		t.values++
		if !fn(event{value: v}) {
			return
		}
		t.cutAt, t.cutLine, t.addNewline = segOff+int64(z), num, true
		t.zeros = z < len(seg)
		return
	}
	// Otherwise the torn tail is this segment.
	t.cutAt, t.cutLine = segOff, num
	t.zeros = bytes.IndexByte(seg, 0) >= 0
}

// complete reports whether v, the last line without its newline, is a whole
// value that can be kept. A number cut short is still a number, so a bare
// number there cannot be told from a torn write and is not kept.
func complete(v []byte) bool {
	if len(v) == 0 || v[0] == '-' || '0' <= v[0] && v[0] <= '9' {
		return false
	}
	return json.Valid(v)
}

// readLine reads one line including its newline. It returns a slice of the
// reader's buffer, or of *buf for a line longer than that; either is valid
// until the next call. At the end of the input it returns what is left,
// unterminated, possibly empty.
func readLine(br *bufio.Reader, buf *[]byte) (line []byte, terminated bool, err error) {
	b := (*buf)[:0]
	defer func() {
		if cap(b) <= 4<<20 {
			*buf = b[:0] // keep a grown buffer, unless it is huge
		}
	}()
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case err == nil && len(b) == 0:
			return chunk, true, nil
		case err == nil:
			b = append(b, chunk...)
			return b, true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			b = append(b, chunk...)
		case errors.Is(err, io.EOF):
			if len(b) == 0 {
				return chunk, false, nil
			}
			b = append(b, chunk...)
			return b, false, nil
		default:
			return nil, false, err
		}
	}
}

// trimSpace trims JSON whitespace.
func trimSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// invalidReason says why v is not a JSON value.
func invalidReason(v []byte) string {
	var raw json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil {
		return "not valid JSON: " + err.Error()
	}
	return "not valid JSON"
}
