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

	"github.com/durable-go/durable/internal/errs"
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
	Path   string `json:"path,omitempty"`
	Line   int    `json:"line"`   // 1-based number of the (first) line
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
//     holding zero bytes at the very end) is yielded as one *CorruptError
//     wrapping ErrTornTail, and ends the scan.
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
		t, err := walk(path, r, func(ev event) bool {
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
// input they are part of the torn tail, but a valid line after them makes
// them corrupt lines in the middle.
func walk(path string, r io.Reader, fn func(event) bool) (tail, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		t       tail
		off     int64
		num     int
		buf     []byte
		pending []*CorruptError // lines with zero bytes, not yet judged
	)
	flush := func() bool {
		for _, p := range pending {
			p.Reason = "zero bytes in the middle of the file"
			if !fn(event{corrupt: p}) {
				return false
			}
		}
		pending = pending[:0]
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
			finish(line, start, num, pending, &t, fn, flush)
			return t, nil
		}
		content := line[:len(line)-1]
		v := trimSpace(content)
		switch {
		case len(v) == 0:
			// A blank line: no value, and no damage either.
		case json.Valid(v):
			if !flush() {
				return t, nil
			}
			t.values++
			if !fn(event{value: v}) {
				return t, nil
			}
		case bytes.IndexByte(content, 0) >= 0:
			pending = append(pending, &CorruptError{Path: path, Line: num, Offset: start, Length: int64(len(content))})
		default:
			if !flush() {
				return t, nil
			}
			e := &CorruptError{Path: path, Line: num, Offset: start, Length: int64(len(content)), Reason: invalidReason(v)}
			if !fn(event{corrupt: e}) {
				return t, nil
			}
		}
	}
}

// finish judges the last, unterminated, segment of the input (possibly
// empty) and the held-back lines before it, and fills in t.
func finish(seg []byte, segOff int64, num int, pending []*CorruptError, t *tail, fn func(event) bool, flush func() bool) {
	z := len(seg)
	for z > 0 && seg[z-1] == 0 {
		z--
	}
	if v := trimSpace(seg[:z]); complete(v) {
		// A whole value that only lacks its newline: keep it. Zero bytes
		// after it are the torn tail; zero lines before it are damage in
		// the middle.
		if !flush() {
			return
		}
		t.values++
		if !fn(event{value: v}) {
			return
		}
		t.cutAt, t.cutLine, t.addNewline = segOff+int64(z), num, true
		t.zeros = z < len(seg)
		return
	}
	// Otherwise the torn tail is this segment and any lines holding zero
	// bytes right before it.
	t.cutAt, t.cutLine = segOff, num
	if len(pending) > 0 {
		t.cutAt, t.cutLine = pending[0].Offset, pending[0].Line
	}
	t.zeros = len(pending) > 0 || bytes.IndexByte(seg, 0) >= 0
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
