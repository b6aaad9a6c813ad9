package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The patch log's records and names. The format is described in
// store/LOGFORMAT.md; LogFormatVersion is its number.

// LogFormatVersion is the format of the records a Store in log mode
// appends to its patch log (see store/LOGFORMAT.md). A record of a newer
// format is refused, never skipped.
const LogFormatVersion = 1

const (
	logSuffix      = ".patchlog"
	discardedInfix = ".patchlog.discarded."
	logOrigin      = "durable-store-log"
	defaultCompact = 4 << 20
)

// LogName returns the name of the patch log a Store in log mode keeps
// beside the document at path: path + ".patchlog", a journal directory
// (package journal).
func LogName(path string) string { return path + logSuffix }

// IsLogName reports whether name (a path or a base name) is a document's
// patch log, "name.patchlog".
func IsLogName(name string) bool {
	_, ok := ParseLogName(name)
	return ok
}

// ParseLogName reports whether name is a document's patch log and returns
// the document's name.
func ParseLogName(name string) (of string, ok bool) {
	of, ok = strings.CutSuffix(name, logSuffix)
	if !ok || of == "" || strings.HasSuffix(of, "/") {
		return "", false
	}
	return of, true
}

// discardedName names the evidence DiscardLog keeps of the patches it set
// aside: "name.patchlog.discarded.<time>", -k from the second on.
func discardedName(target string, t time.Time, k int) string {
	name := target + discardedInfix + t.UTC().Format(corruptStamp)
	if k > 1 {
		name += fmt.Sprintf("-%d", k)
	}
	return name
}

// ParseDiscardedLogName reports whether name (a path or a base name) is the
// evidence Store.DiscardLog (durable store compact --discard) kept of the
// patches it set aside, "name.patchlog.discarded.<time>", and returns the
// document's name and when they were set aside.
func ParseDiscardedLogName(name string) (of string, at time.Time, ok bool) {
	i := strings.LastIndex(name, discardedInfix)
	if i <= 0 {
		return "", time.Time{}, false
	}
	// The stamp has the corrupt copies' format: parse it as one.
	of, at, ok = ParseCorruptName(name[:i] + corruptInfix + name[i+len(discardedInfix):])
	return of, at, ok
}

// IsDiscardedLogName is ParseDiscardedLogName's answer alone.
func IsDiscardedLogName(name string) bool {
	_, _, ok := ParseDiscardedLogName(name)
	return ok
}

// The kinds of record.
const (
	opPatch = "patch" // body: a merge patch of T's encoding
	opWhole = "whole" // body: the whole document, as the snapshot holds one
	opFold  = "fold"  // no body: the snapshot now is (or is about to be) Rev
)

// logHeader is a record's first line.
type logHeader struct {
	Format int    `json:"format"`
	Op     string `json:"op"`
	// Base is the content hash of the snapshot a patch or whole record
	// builds on (through the patches before it), Rev the one a fold
	// record names: "sha256:<hex>", or "" for no file.
	Base string `json:"base,omitempty"`
	Rev  string `json:"rev,omitempty"`
}

// logRecord is a decoded record.
type logRecord struct {
	index uint64
	logHeader
	body []byte
	size int
}

// snapshotHash is the content hash the log uses for a snapshot ("" when
// the file does not exist).
func snapshotHash(data []byte) string {
	if data == nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// encodeRecord writes a record: the header as encoding/json writes it
// (TestEncodeRecordIsJSON), by hand, since every update writes one and
// its strings (an op, a content hash) never need escaping.
func encodeRecord(h logHeader, body []byte) []byte {
	return append(appendHeader(make([]byte, 0, 96+len(body)), h), body...)
}

func appendHeader(b []byte, h logHeader) []byte {
	b = append(b, `{"format":`...)
	b = strconv.AppendInt(b, LogFormatVersion, 10)
	b = append(append(append(b, `,"op":"`...), h.Op...), '"')
	if h.Base != "" {
		b = append(append(append(b, `,"base":"`...), h.Base...), '"')
	}
	if h.Rev != "" {
		b = append(append(append(b, `,"rev":"`...), h.Rev...), '"')
	}
	return append(b, "}\n"...)
}

// decodeRecord checks and decodes one record's payload. Anything that is
// not a record this version wrote is an error: a log is never applied in
// part on a guess.
func decodeRecord(index uint64, payload []byte) (logRecord, error) {
	r := logRecord{index: index, size: len(payload)}
	line, body, _ := bytes.Cut(payload, []byte("\n"))
	if h, ok := parseHeader(line); ok {
		r.logHeader = h
	} else if err := decodeHeader(line, &r.logHeader); err != nil {
		return r, fmt.Errorf("record %d: the header does not decode: %v", index, err)
	}
	return decodeRecordFrom(r, body)
}

// decodeRecordFrom checks a record whose header r holds, and its body.
func decodeRecordFrom(r logRecord, body []byte) (logRecord, error) {
	index := r.index
	if r.Format != LogFormatVersion {
		return r, fmt.Errorf("record %d: format %d, this program reads format %d", index, r.Format, LogFormatVersion)
	}
	okHash := func(h string) bool {
		hx, ok := strings.CutPrefix(h, "sha256:")
		_, err := hex.DecodeString(hx)
		return h == "" || ok && len(hx) == 64 && err == nil
	}
	switch r.Op {
	case opPatch, opWhole:
		if r.Rev != "" || !okHash(r.Base) {
			return r, fmt.Errorf("record %d: a %s record with a bad base %q", index, r.Op, r.Base)
		}
		if !json.Valid(body) {
			return r, fmt.Errorf("record %d: the %s is not valid JSON", index, r.Op)
		}
		r.body = body
	case opFold:
		if r.Base != "" || !okHash(r.Rev) || len(body) != 0 {
			return r, fmt.Errorf("record %d: a bad fold record", index)
		}
	default:
		return r, fmt.Errorf("record %d: unknown op %q", index, r.Op)
	}
	return r, nil
}

// decodeHeader decodes a header line as encoding/json does, refusing
// unknown fields and anything after the object.
func decodeHeader(line []byte, h *logHeader) error {
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	return d.Decode(h)
}

// parseHeader reads a header line written as appendHeader writes one —
// every header this version appends — without encoding/json, which cost
// a writer among several a few microseconds for each record it catches
// up with. It reports false for any other line, which decodeHeader then
// decodes: the fields it returns are those decodeHeader would (each string
// is printable ASCII without escapes, which JSON reads as written;
// TestParseHeader, FuzzParseHeader).
func parseHeader(line []byte) (h logHeader, ok bool) {
	rest, ok := bytes.CutPrefix(line, []byte(`{"format":1,"op":"`))
	if !ok {
		return h, false
	}
	if h.Op, rest, ok = plainString(rest); !ok {
		return h, false
	}
	if r, ok := bytes.CutPrefix(rest, []byte(`,"base":"`)); ok {
		if h.Base, rest, ok = plainString(r); !ok {
			return h, false
		}
	}
	if r, ok := bytes.CutPrefix(rest, []byte(`,"rev":"`)); ok {
		if h.Rev, rest, ok = plainString(r); !ok {
			return h, false
		}
	}
	if string(rest) != "}" {
		return logHeader{}, false
	}
	// The prefix names format 1: TestParseHeader fails should
	// LogFormatVersion change without it.
	h.Format = 1
	return h, true
}

// plainString reads a JSON string's contents up to its closing quote,
// when they are printable ASCII without a backslash, and the rest of b.
func plainString(b []byte) (s string, rest []byte, ok bool) {
	for i, c := range b {
		switch {
		case c == '"':
			return string(b[:i]), b[i+1:], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", nil, false
		}
	}
	return "", nil, false
}

// LogConflictError reports that the snapshot was changed by someone who
// did not take the document's lock (a hand edit, a copy put back, a
// program opening it without Options.Log) while patches in the log were
// pending: the patches apply to another version, and merging them into
// this one blindly could undo the edit or corrupt the document. Nothing is
// changed. Either keep the edit and set the pending patches aside
// (Store.DiscardLog, durable store compact --discard FILE, which keeps
// them as evidence), or put back the snapshot they apply to. It wraps
// ErrConflict.
type LogConflictError struct {
	Path     string // the document
	Log      string // its patch log
	Pending  int    // patches that do not apply to the snapshot
	Snapshot string // the snapshot's content hash now
	Want     string // the content hash the patches apply to
}

func (e *LogConflictError) Error() string {
	return fmt.Sprintf("store: %s was changed without its lock while %d patch(es) in %s were pending (the snapshot is %s, the patches apply to %s); "+
		"nothing was merged: keep the edit with Store.DiscardLog (durable store compact --discard %s), which keeps the patches as evidence, or restore the snapshot they apply to",
		e.Path, e.Pending, e.Log, shortHash(e.Snapshot), shortHash(e.Want), e.Path)
}

func (e *LogConflictError) Unwrap() error { return ErrConflict }

func shortHash(h string) string {
	if h == "" {
		return "absent"
	}
	if len(h) > 19 {
		return h[:19]
	}
	return h
}

// LogError reports a patch log that cannot be read or applied: damaged,
// from a newer format, or naming members the document does not have. It
// wraps ErrCorrupt; nothing is changed.
type LogError struct {
	Path  string // the patch log
	Cause error
}

func (e *LogError) Error() string { return fmt.Sprintf("store: patch log %s: %v", e.Path, e.Cause) }

func (e *LogError) Unwrap() []error { return []error{ErrCorrupt, e.Cause} }
