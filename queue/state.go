package queue

import (
	"container/heap"
	"slices"
)

// message is a live message: pushed, not yet acknowledged or purged.
type message struct {
	payload  []byte
	loc      uint64 // index of the record that holds the payload
	state    uint8
	at       int64  // ready: when it is due (0: now); leased: the lease's end
	attempts uint64 // deliveries so far
	gen      uint64 // bumped at every change; heap entries carry it
}

// state is the queue as the events up to seen make it. It is a pure
// function of the events: applying them needs no clock.
type state struct {
	seen   uint64 // index of the next record to apply
	base   uint64 // first index applied since the last (re)load or drop
	fresh  bool   // nothing applied yet: the first record may be anywhere
	msgs   map[ID]*message
	ready  idHeap   // messages available now (lazily validated)
	timed  timeHeap // messages that become available at a time
	gen    uint64
	nDead  int
	lastCp uint64 // seen at the last compaction this process did
}

func newState() *state { return &state{fresh: true, msgs: map[ID]*message{}} }

type entry struct {
	at  int64
	id  ID
	gen uint64
}

type idHeap []entry

func (h idHeap) Len() int           { return len(h) }
func (h idHeap) Less(i, j int) bool { return h[i].id < h[j].id }
func (h idHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idHeap) Push(x any)        { *h = append(*h, x.(entry)) }
func (h *idHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type timeHeap []entry

func (h timeHeap) Len() int { return len(h) }
func (h timeHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].id < h[j].id
}
func (h timeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)   { *h = append(*h, x.(entry)) }
func (h *timeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// set gives m a new state and schedules it.
func (s *state) set(id ID, m *message, st uint8, at int64) {
	if m.state == stateDead {
		s.nDead--
	}
	if st == stateDead {
		s.nDead++
	}
	s.gen++
	m.state, m.at, m.gen = st, at, s.gen
	switch {
	case st == stateReady && at == 0:
		heap.Push(&s.ready, entry{id: id, gen: m.gen})
	case st == stateReady || st == stateLeased:
		heap.Push(&s.timed, entry{at: at, id: id, gen: m.gen})
	}
}

func (s *state) remove(id ID, m *message) {
	if m.state == stateDead {
		s.nDead--
	}
	delete(s.msgs, id)
}

// apply applies the event in the record at index. Events that do not fit
// the state (about a message this process never saw because its push was
// dropped, or no longer live) change nothing: every event was decided under
// the lock against the state before it, so they only arise after records
// were dropped.
func (s *state) apply(index uint64, payload []byte) error {
	e, err := decodeEvent(payload)
	if err != nil {
		return err
	}
	if e.Kind == kindPush {
		m := &message{payload: e.Payload, loc: index}
		s.msgs[ID(index)] = m
		s.set(ID(index), m, stateReady, 0)
		return nil
	}
	m := s.msgs[e.ID]
	if e.Kind == kindMove {
		if m == nil {
			m = &message{}
			s.msgs[e.ID] = m
		}
		m.payload, m.loc, m.attempts = e.Payload, index, e.Attempts
		s.set(e.ID, m, e.State, e.Time)
		return nil
	}
	if m == nil {
		return nil
	}
	switch e.Kind {
	case kindLease:
		if m.state != stateDead {
			m.attempts = e.Attempts
			s.set(e.ID, m, stateLeased, e.Time)
		}
	case kindAck:
		if m.state != stateDead {
			s.remove(e.ID, m)
		}
	case kindNack:
		if m.state == stateLeased {
			s.set(e.ID, m, stateReady, e.Time)
		}
	case kindExtend:
		if m.state == stateLeased {
			s.set(e.ID, m, stateLeased, e.Time)
		}
	case kindDead:
		s.set(e.ID, m, stateDead, 0)
	case kindRetry:
		if m.state == stateDead {
			m.attempts = 0
			s.set(e.ID, m, stateReady, e.Time)
		}
	case kindPurge:
		if m.state == stateDead {
			s.remove(e.ID, m)
		}
	}
	return nil
}

// promote moves the timed entries due at now to the ready heap.
func (s *state) promote(now int64) {
	for len(s.timed) > 0 && s.timed[0].at <= now {
		e := heap.Pop(&s.timed).(entry)
		if m := s.msgs[e.id]; m != nil && m.gen == e.gen {
			heap.Push(&s.ready, e)
		}
	}
}

// peek returns the oldest message available at now, leaving it in place,
// and when nothing is, the time the next one may become available (0:
// none scheduled).
func (s *state) peek(now int64) (ID, *message, int64) {
	s.promote(now)
	for len(s.ready) > 0 {
		e := s.ready[0]
		if m := s.msgs[e.id]; m != nil && m.gen == e.gen {
			return e.id, m, 0
		}
		heap.Pop(&s.ready)
	}
	for len(s.timed) > 0 {
		e := s.timed[0]
		if m := s.msgs[e.id]; m != nil && m.gen == e.gen {
			return 0, nil, e.at
		}
		heap.Pop(&s.timed)
	}
	return 0, nil, 0
}

// counts returns the number of messages in each state at now.
func (s *state) counts(now int64) Stats {
	var st Stats
	for _, m := range s.msgs {
		switch {
		case m.state == stateDead:
			st.Dead++
		case m.state == stateLeased && m.at > now:
			st.Leased++
		case m.state == stateReady && m.at > now:
			st.Delayed++
		default:
			st.Ready++
		}
	}
	return st
}

// live returns the IDs of the live messages whose payload lies below
// index, in order.
func (s *state) below(index uint64) []ID {
	var ids []ID
	for id, m := range s.msgs {
		if m.loc < index {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
