package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"time"
)

// The on-disk format; FORMAT.md describes it for people.

// FormatVersion is the on-disk format version written in every segment
// header (FORMAT.md).
const FormatVersion = 1

// Version is the format version.
//
// Deprecated: Use FormatVersion; "version" alone names a content hash
// elsewhere in this module.
const Version = FormatVersion

// MaxPayload is the largest record payload, 2^30 - 32 bytes: a frame,
// header included, is at most 1 GiB.
const MaxPayload = 1<<30 - 32

var segMagic = [8]byte{'d', 'u', 'r', 'j', 'r', 'n', 'l', 0}

const (
	hdrFixed    = 72 // header bytes before the subtree hashes
	frameHeader = 32 // frame bytes before the body
	commitBody  = 48 // body of a commit frame
	commitSize  = frameHeader + commitBody
	sealSize    = frameHeader // a seal frame has no body
	// maxFrame bounds a frame so that a damaged length cannot ask for
	// gigabytes; payloads are limited to MaxPayload.
	maxFrame = 1 << 30
	// noPrev is the previous-base field of the first segment of a log.
	noPrev = ^uint64(0)
)

// Type says what a record is. Types below 0x80 are records: they have an
// index, are leaves of the Merkle tree and are returned by readers. Types
// from 0x80 on are control frames that carry no record.
type Type uint8

const (
	// TypeData is a record appended by Append or AppendBatch.
	TypeData Type = 1
	// TypeNote is written by the journal itself to say what it did to the
	// files, such as cutting a torn tail during recovery. Its payload is
	// text for people.
	TypeNote Type = 2
	// TypeRetention is written by DropBefore before it removes segments.
	// Its payload is text; it begins with "drop-before <index>", the
	// first index kept.
	TypeRetention Type = 3

	typeCommit Type = 0x80 // closes a batch: count, batch CRC, tree root
	typeSeal   Type = 0x81 // ends a segment: the next one starts at index
)

func (t Type) String() string {
	switch t {
	case TypeData:
		return "data"
	case TypeNote:
		return "note"
	case TypeRetention:
		return "retention"
	case typeCommit:
		return "commit"
	case typeSeal:
		return "seal"
	}
	return fmt.Sprintf("type(%#x)", uint8(t))
}

func (t Type) isRecord() bool { return t == TypeData || t == TypeNote || t == TypeRetention }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskCRC is LevelDB's and Snappy's masking: a CRC stored inside the data
// it covers (a record holding a frame, say) must not look like a CRC of it.
func maskCRC(c uint32) uint32 { return (c>>15 | c<<17) + 0xa282ead8 }

func align8(n int64) int64 { return (n + 7) &^ 7 }

// header is a segment header.
type header struct {
	version  uint16
	length   int64 // bytes, including CRC and padding
	logID    [16]byte
	base     uint64 // index of the segment's first record
	prevBase uint64 // base of the segment before it, noPrev for the first
	created  int64  // unix nanoseconds
	size     int64  // size the segment was allocated with
	state    []Hash // Merkle compact range at tree size base
}

func headerLen(nhashes int) int64 { return align8(hdrFixed + 32*int64(nhashes) + 4) }

func (h *header) encode() []byte {
	n := len(h.state)
	buf := make([]byte, headerLen(n))
	copy(buf, segMagic[:])
	le := binary.LittleEndian
	le.PutUint16(buf[8:], FormatVersion)
	le.PutUint16(buf[10:], uint16(len(buf)))
	copy(buf[16:32], h.logID[:])
	le.PutUint64(buf[32:], h.base)
	le.PutUint64(buf[40:], h.prevBase)
	le.PutUint64(buf[48:], uint64(h.created))
	le.PutUint64(buf[56:], uint64(h.size))
	le.PutUint32(buf[64:], uint32(n))
	for i, s := range h.state {
		copy(buf[hdrFixed+32*i:], s[:])
	}
	end := hdrFixed + 32*n
	le.PutUint32(buf[end:], maskCRC(crc32.Checksum(buf[:end], castagnoli)))
	return buf
}

var (
	errBadMagic   = errors.New("not a journal segment (bad magic)")
	errBadVersion = errors.New("unsupported format version")
	errHeaderCRC  = errors.New("header checksum mismatch")
	errHeaderForm = errors.New("malformed header")
)

// decodeHeader parses a header from the start of buf, which must hold at
// least hdrFixed bytes, or all of the header once its length is known: it
// returns the length it needs when buf is too short (and a nil header).
func decodeHeader(buf []byte) (*header, int64, error) {
	if len(buf) < hdrFixed {
		return nil, hdrFixed, nil
	}
	if [8]byte(buf[:8]) != segMagic {
		return nil, 0, errBadMagic
	}
	le := binary.LittleEndian
	h := &header{version: le.Uint16(buf[8:])}
	if h.version != FormatVersion {
		return nil, 0, fmt.Errorf("%w %d", errBadVersion, h.version)
	}
	h.length = int64(le.Uint16(buf[10:]))
	n := int(le.Uint32(buf[64:]))
	if n > 64 || h.length != headerLen(n) || le.Uint32(buf[12:]) != 0 || le.Uint32(buf[68:]) != 0 {
		return nil, 0, errHeaderForm
	}
	if int64(len(buf)) < h.length {
		return nil, h.length, nil
	}
	end := hdrFixed + 32*n
	if le.Uint32(buf[end:]) != maskCRC(crc32.Checksum(buf[:end], castagnoli)) {
		return nil, 0, errHeaderCRC
	}
	for _, b := range buf[end+4 : h.length] {
		if b != 0 {
			return nil, 0, errHeaderForm
		}
	}
	copy(h.logID[:], buf[16:32])
	h.base = le.Uint64(buf[32:])
	h.prevBase = le.Uint64(buf[40:])
	h.created = int64(le.Uint64(buf[48:]))
	h.size = int64(le.Uint64(buf[56:]))
	if bits.OnesCount64(h.base) != n || h.size < 0 {
		return nil, 0, errHeaderForm
	}
	h.state = make([]Hash, n)
	for i := range h.state {
		copy(h.state[i][:], buf[hdrFixed+32*i:])
	}
	return h, h.length, nil
}

// frame is a decoded frame. Body aliases the buffer it was decoded from.
type frame struct {
	length int64 // unpadded, as stored
	index  uint64
	time   int64
	typ    Type
	body   []byte
	raw    []byte // the whole frame, padding included
}

func (f *frame) size() int64 { return align8(f.length) }

// leaf returns the data the Merkle leaf of a record frame covers: the frame
// from the index field to the end of the body.
func (f *frame) leaf() []byte { return f.raw[8:f.length] }

// appendFrame appends a frame to buf.
func appendFrame(buf []byte, typ Type, index uint64, t int64, body []byte) []byte {
	start := len(buf)
	length := frameHeader + len(body)
	total := int(align8(int64(length)))
	buf = append(buf, make([]byte, total)...)
	fr := buf[start:]
	le := binary.LittleEndian
	le.PutUint32(fr[0:], uint32(length))
	le.PutUint64(fr[8:], index)
	le.PutUint64(fr[16:], uint64(t))
	fr[24] = byte(typ)
	copy(fr[frameHeader:], body)
	le.PutUint32(fr[4:], frameCRC(fr[:length]))
	return buf
}

func frameCRC(fr []byte) uint32 {
	c := crc32.Update(0, castagnoli, fr[0:4])
	c = crc32.Update(c, castagnoli, fr[8:])
	return maskCRC(c)
}

// Why a frame does not decode. errZero is not damage by itself: it is how
// the end of the written part of a segment reads.
var (
	errZero       = errors.New("zero length (end of data)")
	errShort      = errors.New("frame runs past the end of the file")
	errFrameCRC   = errors.New("frame checksum mismatch")
	errFrameForm  = errors.New("malformed frame")
	errFrameLen   = errors.New("impossible frame length")
	errUnknownTyp = errors.New("unknown frame type")
)

// decodeFrame decodes the frame at the start of buf. need is how many
// bytes it wants when buf is too short (errShort is returned only when
// avail, the bytes left in the file from this frame on, cannot hold it).
func decodeFrame(buf []byte, avail int64) (f frame, need int64, err error) {
	if len(buf) < 4 {
		if avail < 4 {
			if allZero(buf) {
				return f, 0, errZero
			}
			return f, 0, errShort
		}
		return f, frameHeader, nil
	}
	le := binary.LittleEndian
	length := int64(le.Uint32(buf))
	switch {
	case length == 0:
		return f, 0, errZero
	case length < frameHeader || length > maxFrame:
		return f, 0, errFrameLen
	case align8(length) > avail:
		return f, 0, errShort
	case int64(len(buf)) < align8(length):
		return f, align8(length), nil
	}
	raw := buf[:align8(length)]
	if le.Uint32(raw[4:]) != frameCRC(raw[:length]) {
		return f, 0, errFrameCRC
	}
	f = frame{
		length: length,
		index:  le.Uint64(raw[8:]),
		time:   int64(le.Uint64(raw[16:])),
		typ:    Type(raw[24]),
		body:   raw[frameHeader:length],
		raw:    raw,
	}
	if !allZero(raw[25:32]) || !allZero(raw[length:]) {
		return frame{}, 0, errFrameForm
	}
	switch f.typ {
	case TypeData, TypeNote, TypeRetention:
	case typeCommit:
		if len(f.body) != commitBody || le.Uint32(f.body[12:])&^commitAfterUnflushed != 0 {
			return frame{}, 0, errFrameForm
		}
	case typeSeal:
		if len(f.body) != 0 {
			return frame{}, 0, errFrameForm
		}
	default:
		return frame{}, 0, errUnknownTyp
	}
	return f, 0, nil
}

// commitInfo is the body of a commit frame.
type commitInfo struct {
	count uint64
	crc   uint32
	flags uint32
	root  Hash
}

// commitAfterUnflushed, in a commit frame's flags, says that the batch
// before this one had not been flushed when this one was written: they
// reach the disk together, and a power cut during their flush can keep this
// one and tear that one (classifyTail).
const commitAfterUnflushed = 1

func (c commitInfo) encode() []byte {
	b := make([]byte, commitBody)
	binary.LittleEndian.PutUint64(b, c.count)
	binary.LittleEndian.PutUint32(b[8:], c.crc)
	binary.LittleEndian.PutUint32(b[12:], c.flags)
	copy(b[16:], c.root[:])
	return b
}

func decodeCommit(body []byte) commitInfo {
	var c commitInfo
	c.count = binary.LittleEndian.Uint64(body)
	c.crc = binary.LittleEndian.Uint32(body[8:])
	c.flags = binary.LittleEndian.Uint32(body[12:])
	copy(c.root[:], body[16:])
	return c
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// Record is one record of the journal.
type Record struct {
	// Index is the record's position in the log, from 0, and its leaf
	// number in the Merkle tree.
	Index uint64
	// Type is TypeData for what Append wrote; the journal's own notes have
	// other types.
	Type Type
	// Time is when the record was appended, as the appending process's
	// clock said (it is covered by the checksum and the tree, but it is
	// only as honest as that clock).
	Time time.Time
	// Payload is the record's content.
	Payload []byte
}

func recordOf(f *frame) Record {
	return Record{Index: f.index, Type: f.typ, Time: time.Unix(0, f.time), Payload: append([]byte(nil), f.body...)}
}

// LeafData returns the bytes the record's Merkle leaf hashes: the index
// (8 bytes), the time in Unix nanoseconds (8), the type (1), seven zero
// bytes, and the payload, little-endian, exactly as they are in the frame.
func (r Record) LeafData() []byte {
	b := make([]byte, 24+len(r.Payload))
	binary.LittleEndian.PutUint64(b, r.Index)
	binary.LittleEndian.PutUint64(b[8:], uint64(r.Time.UnixNano()))
	b[16] = byte(r.Type)
	copy(b[24:], r.Payload)
	return b
}

// LeafHash returns the record's Merkle leaf hash, SHA-256(0x00 || LeafData).
func (r Record) LeafHash() Hash { return leafHash(r.LeafData()) }
