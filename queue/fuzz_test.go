package queue

import (
	"errors"
	"reflect"
	"testing"

	"github.com/durable-go/durable"
)

// FuzzDecodeEvent: the decoder never panics, refuses with ErrCorrupt, and
// what it accepts encodes to bytes that decode to the same event.
func FuzzDecodeEvent(f *testing.F) {
	for _, e := range []event{
		{Kind: kindPush, Payload: []byte("hello")},
		{Kind: kindLease, ID: 7, Time: 1 << 60, Attempts: 3},
		{Kind: kindAck, ID: 1 << 40},
		{Kind: kindNack, ID: 9, Time: -5},
		{Kind: kindExtend, ID: 9, Time: 123},
		{Kind: kindDead, ID: 2, Reason: reasonExpired},
		{Kind: kindRetry, ID: 2, Time: 0},
		{Kind: kindPurge, ID: 2},
		{Kind: kindMove, ID: 3, State: stateLeased, Time: 99, Attempts: 1, Payload: []byte("p")},
	} {
		f.Add(e.encode())
	}
	f.Add([]byte{})
	f.Add([]byte{2, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decodeEvent(data)
		if err != nil {
			if !errors.Is(err, durable.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		e2, err := decodeEvent(e.encode())
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
		if len(e.Payload) == 0 {
			e.Payload, e2.Payload = nil, nil
		}
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("round trip: %+v then %+v", e, e2)
		}
		// A state fed the event does not panic.
		s := newState()
		s.apply(0, pushRecord([]byte("x")))
		s.apply(1, data)
		s.peek(0)
	})
}
