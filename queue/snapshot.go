package queue

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/durable-go/durable/journal"
)

// SnapshotName is the file, in the queue's directory, that holds the
// state snapshot (FORMAT.md, "State snapshot"); SnapshotName+".corrupt" is
// a damaged one kept as evidence.
const SnapshotName = "queue.snapshot"

// IsSnapshotName reports whether name, a file name in a queue's
// directory, is one the queue makes for its state snapshot: the snapshot
// itself, or (kept) a damaged or foreign one kept as evidence. The temp
// file of its atomic replace is durable's (durable.WriteFile).
func IsSnapshotName(name string) (ok, kept bool) {
	switch name {
	case SnapshotName:
		return true, false
	case SnapshotName + ".corrupt":
		return true, true
	}
	return false, false
}

// SnapshotVersion is the version of the snapshot's format.
const SnapshotVersion = 1

var snapMagic = [8]byte{'d', 'u', 'r', 'q', 's', 'n', 'a', 'p'}

// snapHeader is the fixed part: magic, version, log ID, seen, base, the
// checksum of the record seen-1 and the count of messages.
const snapHeader = 8 + 1 + 16 + 8 + 8 + 4 + 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recordSum is the checksum the snapshot keeps of the record seen-1, so
// that it is trusted only on the journal whose history it summarises.
func recordSum(typ journal.Type, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum([]byte{byte(typ)}, castagnoli), castagnoli, payload)
}

// encodeSnapshot returns the snapshot of s, for the journal logID.
func (s *state) encodeSnapshot(logID [16]byte) []byte {
	b := make([]byte, snapHeader, snapHeader+2*s.live+4)
	copy(b, snapMagic[:])
	b[8] = SnapshotVersion
	copy(b[9:25], logID[:])
	binary.LittleEndian.PutUint64(b[25:], s.seen)
	binary.LittleEndian.PutUint64(b[33:], s.base)
	binary.LittleEndian.PutUint32(b[41:], s.sum)
	binary.LittleEndian.PutUint64(b[45:], uint64(s.live))
	prev := ID(0)
	// Messages never delivered (most of a backlog) go in runs, one byte
	// each, of at most maxRun.
	const maxRun = 4096
	var run []ID
	flush := func() {
		if len(run) == 0 {
			return
		}
		b = append(b, 0)
		b = binary.AppendUvarint(b, uint64(len(run)))
		for _, id := range run {
			b = binary.AppendUvarint(b, uint64(id-prev))
			prev = id
		}
		run = run[:0]
	}
	s.each(func(m *slot) bool {
		if fresh(m) {
			if run = append(run, m.id); len(run) == maxRun {
				flush()
			}
			return true
		}
		flush()
		b = append(b, m.state())
		b = binary.AppendUvarint(b, uint64(m.id-prev))
		b = binary.AppendUvarint(b, m.loc-uint64(m.id))
		b = binary.AppendVarint(b, m.at)
		b = binary.AppendUvarint(b, m.attempts())
		prev = m.id
		return true
	})
	flush()
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeSnapshot decodes a snapshot. It is strict, and trusts nothing
// before the checksum of the whole file is checked: another magic or
// version, a wrong checksum, a count the bytes cannot hold, IDs out of
// order, a payload outside the records the snapshot covers, an unknown
// state, or stray bytes are refused with an error wrapping
// durable.ErrCorrupt. The state it returns must still be matched with the
// journal (state.check) before anything is decided on it.
func decodeSnapshot(b []byte) (logID [16]byte, s *state, err error) {
	if len(b) < snapHeader+4 || [8]byte(b[:8]) != snapMagic {
		return logID, nil, corrupt("not a queue snapshot")
	}
	if b[8] != SnapshotVersion {
		return logID, nil, corrupt("snapshot format version %d, want %d", b[8], SnapshotVersion)
	}
	body, tail := b[:len(b)-4], b[len(b)-4:]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(tail) {
		return logID, nil, corrupt("snapshot checksum mismatch")
	}
	copy(logID[:], b[9:25])
	s = &state{
		seen: binary.LittleEndian.Uint64(b[25:]),
		base: binary.LittleEndian.Uint64(b[33:]),
		sum:  binary.LittleEndian.Uint32(b[41:]),
	}
	n := binary.LittleEndian.Uint64(b[45:])
	r := body[snapHeader:]
	// Each message takes at least a byte, and is pushed by a record.
	if n > uint64(len(r)) || n > s.seen || s.base > s.seen {
		return logID, nil, corrupt("snapshot of %d messages in %d bytes, %d records", n, len(r), s.seen)
	}
	// Room for the tail Open replays after it (snapEvery), so that the
	// pushes there do not copy the whole slice.
	s.untouched = make([]ID, 0, n+n/16+1024)
	prev := uint64(0)
	count := func() int { return len(s.untouched) + len(s.slots) }
	uvarint := func() (uint64, bool) {
		if len(r) > 0 && r[0] < 0x80 {
			v := uint64(r[0])
			r = r[1:]
			return v, true
		}
		v, k := binary.Uvarint(r)
		if k <= 0 {
			return 0, false
		}
		r = r[k:]
		return v, true
	}
	// next checks the ID that follows prev by d.
	next := func(d uint64) (uint64, error) {
		id := prev + d
		if (count() > 0 && d == 0) || id < prev {
			return 0, corrupt("snapshot message %d: IDs out of order", count())
		}
		if id >= s.seen {
			return 0, corrupt("snapshot message %d: ID %d, outside the %d records covered", count(), id, s.seen)
		}
		return id, nil
	}
	for uint64(count()) < n {
		if len(r) == 0 {
			return logID, nil, corrupt("snapshot ends after %d of %d messages", count(), n)
		}
		tag := r[0]
		r = r[1:]
		if tag == 0 {
			run, ok := uvarint()
			if !ok || run == 0 || run > n-uint64(count()) {
				return logID, nil, corrupt("snapshot message %d: bad run", count())
			}
			// The hot loop of a large backlog: one byte per message.
			u := s.untouched
			for range run {
				var d uint64
				if len(r) > 0 && r[0] < 0x80 {
					d, r = uint64(r[0]), r[1:]
				} else if d, ok = uvarint(); !ok {
					return logID, nil, corrupt("snapshot message %d truncated", len(u)+len(s.slots))
				}
				id := prev + d
				if (d == 0 && len(u)+len(s.slots) > 0) || id < prev || id >= s.seen {
					s.untouched = u
					_, err := next(d)
					return logID, nil, err
				}
				u = append(u, ID(id))
				prev = id
			}
			s.untouched = u
			continue
		}
		if tag > stateDead {
			return logID, nil, corrupt("snapshot message %d: unknown state %d", count(), tag)
		}
		d, ok1 := uvarint()
		off, ok2 := uvarint()
		at, k := binary.Varint(r)
		if !ok1 || !ok2 || k <= 0 {
			return logID, nil, corrupt("snapshot message %d truncated", count())
		}
		r = r[k:]
		att, ok := uvarint()
		if !ok {
			return logID, nil, corrupt("snapshot message %d truncated", count())
		}
		id, err := next(d)
		if err != nil {
			return logID, nil, err
		}
		switch {
		case id+off < id || id+off >= s.seen:
			return logID, nil, corrupt("snapshot message %d: payload at record %d+%d, outside the %d records covered", count(), id, off, s.seen)
		case att > 1<<62-1:
			return logID, nil, corrupt("snapshot message %d: %d attempts", count(), att)
		}
		s.slots = append(s.slots, slot{id: ID(id), loc: id + off, at: at, meta: att<<2 | uint64(tag)})
		if tag == stateDead {
			s.nDead++
		}
		prev = id
	}
	if len(r) != 0 {
		return logID, nil, corrupt("snapshot has %d stray bytes", len(r))
	}
	s.live = count()
	s.check = s.seen > 0
	return logID, s, nil
}

// fresh reports whether m was never delivered: the snapshot writes such
// messages in runs, by ID alone.
func fresh(m *slot) bool {
	return m.meta == uint64(stateReady) && m.at == 0 && m.loc == uint64(m.id)
}
