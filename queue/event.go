package queue

import (
	"encoding/binary"
	"fmt"

	"github.com/durable-go/durable"
)

// FormatVersion is the version byte that starts every event (FORMAT.md).
const FormatVersion = 1

// kind is an event's type.
type kind uint8

const (
	kindPush   kind = 1 // a new message; its ID is the record's index
	kindLease  kind = 2 // delivered: invisible until Until
	kindAck    kind = 3 // done for good
	kindNack   kind = 4 // returned, ready again at Time
	kindExtend kind = 5 // lease extended to Until
	kindDead   kind = 6 // moved to the dead letters
	kindRetry  kind = 7 // a dead letter made ready again, attempts reset
	kindPurge  kind = 8 // a dead letter removed for good
	kindMove   kind = 9 // a live message rewritten forward (compaction)
)

func (k kind) String() string {
	switch k {
	case kindPush:
		return "push"
	case kindLease:
		return "lease"
	case kindAck:
		return "ack"
	case kindNack:
		return "nack"
	case kindExtend:
		return "extend"
	case kindDead:
		return "dead"
	case kindRetry:
		return "retry"
	case kindPurge:
		return "purge"
	case kindMove:
		return "move"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Message states, as a move event records them.
const (
	stateReady  uint8 = 1
	stateLeased uint8 = 2
	stateDead   uint8 = 3
)

// event is one decoded queue record. Which fields are set depends on Kind
// (FORMAT.md): ID for all but push; Time (Unix nanoseconds: the lease's end
// or the time the message is ready) for lease, nack, extend, retry and
// move; Attempts for lease and move; State for move; Reason for dead;
// Payload for push and move.
type event struct {
	Kind     kind
	ID       ID
	Time     int64
	Attempts uint64
	State    uint8
	Reason   uint8
	Payload  []byte
}

// encode returns the event's bytes.
func (e *event) encode() []byte {
	b := make([]byte, 0, 2+3*binary.MaxVarintLen64+2+len(e.Payload))
	b = append(b, FormatVersion, byte(e.Kind))
	switch e.Kind {
	case kindPush:
		return append(b, e.Payload...)
	case kindAck, kindPurge:
		b = binary.AppendUvarint(b, uint64(e.ID))
	case kindLease:
		b = binary.AppendUvarint(b, uint64(e.ID))
		b = binary.AppendVarint(b, e.Time)
		b = binary.AppendUvarint(b, e.Attempts)
	case kindNack, kindExtend, kindRetry:
		b = binary.AppendUvarint(b, uint64(e.ID))
		b = binary.AppendVarint(b, e.Time)
	case kindDead:
		b = binary.AppendUvarint(b, uint64(e.ID))
		b = append(b, e.Reason)
	case kindMove:
		b = binary.AppendUvarint(b, uint64(e.ID))
		b = append(b, e.State)
		b = binary.AppendVarint(b, e.Time)
		b = binary.AppendUvarint(b, e.Attempts)
		b = append(b, e.Payload...)
	}
	return b
}

// pushRecord is the record of a push of payload, without building an event.
func pushRecord(payload []byte) []byte {
	b := make([]byte, 2+len(payload))
	b[0], b[1] = FormatVersion, byte(kindPush)
	copy(b[2:], payload)
	return b
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("queue: %w: "+format, append([]any{durable.ErrCorrupt}, args...)...)
}

// decodeEvent decodes one record's payload. It is strict: an unknown
// version or kind, a truncated or overlong field, an unknown state or
// reason, or bytes after the last field are refused with an error wrapping
// durable.ErrCorrupt. The event's Payload aliases b.
func decodeEvent(b []byte) (event, error) {
	var e event
	if len(b) < 2 {
		return e, corrupt("event of %d bytes", len(b))
	}
	if b[0] != FormatVersion {
		return e, corrupt("event format version %d, want %d", b[0], FormatVersion)
	}
	e.Kind = kind(b[1])
	r := b[2:]
	uvar := func(what string) (uint64, bool) {
		v, n := binary.Uvarint(r)
		if n <= 0 {
			return 0, false
		}
		r = r[n:]
		return v, true
	}
	svar := func() (int64, bool) {
		v, n := binary.Varint(r)
		if n <= 0 {
			return 0, false
		}
		r = r[n:]
		return v, true
	}
	one := func() (uint8, bool) {
		if len(r) == 0 {
			return 0, false
		}
		v := r[0]
		r = r[1:]
		return v, true
	}
	ok := true
	if e.Kind != kindPush {
		if e.Kind < kindPush || e.Kind > kindMove {
			return event{}, corrupt("unknown event kind %d", b[1])
		}
		var id uint64
		id, ok = uvar("id")
		e.ID = ID(id)
	}
	switch e.Kind {
	case kindPush:
		e.Payload = r
		return e, nil
	case kindLease:
		if ok {
			e.Time, ok = svar()
		}
		if ok {
			e.Attempts, ok = uvar("attempts")
		}
	case kindNack, kindExtend, kindRetry:
		if ok {
			e.Time, ok = svar()
		}
	case kindDead:
		if ok {
			e.Reason, ok = one()
		}
		if ok && (e.Reason < reasonNacked || e.Reason > reasonRetried) {
			return event{}, corrupt("%v event: unknown reason %d", e.Kind, e.Reason)
		}
	case kindMove:
		if ok {
			e.State, ok = one()
		}
		if ok && (e.State < stateReady || e.State > stateDead) {
			return event{}, corrupt("move event: unknown state %d", e.State)
		}
		if ok {
			e.Time, ok = svar()
		}
		if ok {
			e.Attempts, ok = uvar("attempts")
		}
		if ok {
			e.Payload = r
			return e, nil
		}
	}
	if !ok {
		return event{}, corrupt("%v event truncated or malformed", e.Kind)
	}
	if len(r) != 0 {
		return event{}, corrupt("%v event has %d stray bytes", e.Kind, len(r))
	}
	return e, nil
}

// Reasons a message became a dead letter.
const (
	reasonNacked  uint8 = 1 // nacked on its last attempt
	reasonExpired uint8 = 2 // its lease expired on its last attempt
	reasonRetried uint8 = 3 // reserved
)
