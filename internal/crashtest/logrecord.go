package crashtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// LogRecord is one record the log writers append:
//
//	{"seq":N,"data":"...","sum":"<sha256 of seq and data, 16 bytes>"}
//
// The data differs for every sequence number (100 to 900 bytes, the size
// of an audit or event record) and the checksum covers it and the number,
// so a record cut short, glued to another or holding zeros fails
// DecodeRecord.
type LogRecord struct {
	Seq  uint64 `json:"seq"`
	Data string `json:"data"`
	Sum  string `json:"sum"`
}

// NewLogRecord returns record seq.
func NewLogRecord(seq uint64) LogRecord {
	rng := rand.New(rand.NewPCG(seq, 0x6c6f67))
	n := 100 + rng.IntN(800)
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	data := make([]byte, n)
	for i := range data {
		data[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return LogRecord{Seq: seq, Data: string(data), Sum: recordSum(seq, string(data))}
}

func recordSum(seq uint64, data string) string {
	h := sha256.New()
	h.Write(strconv.AppendUint(nil, seq, 10))
	h.Write([]byte{'\n'})
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Encode returns the record as one line of JSON, without the newline.
func (r LogRecord) Encode() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // plain fields always marshal
	}
	return b
}

// DecodeRecord returns the sequence number of a complete, intact record
// (one line, without its newline), or an error saying why it is not one.
func DecodeRecord(line []byte) (uint64, error) {
	if i := bytes.IndexByte(line, 0); i >= 0 {
		return 0, fmt.Errorf("zero bytes at %d of %d", i, len(line))
	}
	var r struct {
		Seq  *uint64 `json:"seq"`
		Data *string `json:"data"`
		Sum  string  `json:"sum"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&r); err != nil {
		return 0, fmt.Errorf("does not parse (%d bytes): %w", len(line), err)
	}
	if dec.More() {
		return 0, fmt.Errorf("two values glued on one line (%d bytes)", len(line))
	}
	if r.Seq == nil || r.Data == nil || r.Sum == "" {
		return 0, fmt.Errorf("incomplete record (%d bytes)", len(line))
	}
	if r.Sum != recordSum(*r.Seq, *r.Data) {
		return 0, fmt.Errorf("checksum mismatch for record %d", *r.Seq)
	}
	return *r.Seq, nil
}

// LogEntry is an intact record found in a log.
type LogEntry struct {
	Seq    uint64
	Offset int64 // byte offset in the file, or the journal's index
}

// LogDamage is a line or record a reader cannot use: cut short, garbled,
// glued to the next one, zeros.
type LogDamage struct {
	Offset int64 // where it starts: its identity from round to round
	Len    int64
	Reason string
}

// LogContents is what a reader finds in a log after a crash.
type LogContents struct {
	Entries []LogEntry
	// Damage is in file order. What comes after the last intact entry is
	// the torn tail; the rest is corrupt.
	Damage []LogDamage
	// Failures are errors of the log's own checks (an Open or Verify that
	// refused): each is a corruption.
	Failures []string
	// Repaired says the log's own recovery cut a torn tail.
	Repaired bool
	// Bytes is the log's size, to decide when to start a fresh one.
	Bytes int64
}

// ParseLines reads a file of newline-terminated records the way a line
// reader would: every line must be one intact record, and bytes after the
// last newline are a torn line.
func ParseLines(data []byte) LogContents {
	c := LogContents{Bytes: int64(len(data))}
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		line := data[off:]
		next := len(data)
		if end >= 0 {
			line = data[off : off+end]
			next = off + end + 1
		}
		switch seq, err := DecodeRecord(line); {
		case end < 0:
			reason := "no newline at the end"
			if err != nil {
				reason = err.Error()
			}
			c.Damage = append(c.Damage, LogDamage{Offset: int64(off), Len: int64(len(line)), Reason: "last line cut short: " + reason})
		case err != nil:
			c.Damage = append(c.Damage, LogDamage{Offset: int64(off), Len: int64(len(line)), Reason: err.Error()})
		default:
			c.Entries = append(c.Entries, LogEntry{Seq: seq, Offset: int64(off)})
		}
		off = next
	}
	return c
}
