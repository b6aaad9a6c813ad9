package queue

import (
	"cmp"
	"container/heap"
	"slices"
	"sort"
)

// slot is a live message's state. Its payload stays in the journal, in the
// record at loc; the state holds 32 bytes per message, so that a backlog of
// millions fits in a few tens of megabytes.
type slot struct {
	id   ID
	loc  uint64 // index of the record that holds the payload: its push, or its last move
	at   int64  // ready: when it is due (0: now); leased: the lease's end
	meta uint64 // attempts<<2 | state (0: removed)
}

func (m *slot) state() uint8     { return uint8(m.meta & 3) }
func (m *slot) attempts() uint64 { return m.meta >> 2 }
func (m *slot) setAttempts(a uint64) {
	m.meta = a<<2 | m.meta&3
}

// available reports whether m can be delivered at now.
func (m *slot) available(now int64) bool {
	st := m.state()
	return (st == stateReady || st == stateLeased) && m.at <= now
}

// state is the queue as the events up to seen make it. It is a pure
// function of the events: applying them needs no clock.
//
// The live messages are in two slices sorted by ID. Messages never
// delivered (most of a backlog: ready now, no attempts, payload in their
// push record) are only their ID in untouched, 8 bytes each; the first event
// about one moves it to slots, which hold everything else. Pop takes the
// available message with the smallest ID: the oldest untouched one (a cursor),
// the first available slot (another cursor), or one of two heaps for the
// slots behind that cursor: those that became available again (ready) and
// those due at a time (timed). Heap entries are checked against the slot
// when they reach the top, so stale and duplicate ones are harmless.
type state struct {
	seen  uint64 // index of the next record to apply
	base  uint64 // first index applied since the last (re)build or drop
	fresh bool   // nothing applied yet: the first record may be anywhere
	// check: the state came from a snapshot, not yet matched with the
	// journal: the record seen-1 must have the checksum sum.
	check bool
	sum   uint32 // recordSum of the record seen-1

	untouched []ID   // never delivered, by ID; taken ones are marked with gone
	ucur      int    // untouched before ucur are all taken
	utaken    int    // marked in untouched
	slots     []slot // by ID; removed ones (state 0) stay until swept
	live      int    // in untouched and slots
	removed   int
	nDead     int
	cur       int      // slots before cur that are available are in ready or timed
	ready     idHeap   // available again behind the cursor
	timed     timeHeap // due at a time
	lastCp    uint64   // seen at the last compaction this process did, or the last move event (any process's compaction)
}

// gone marks an untouched entry whose message moved to slots or went away.
// IDs are record indexes, far below it.
const gone = ID(1) << 63

func newState() *state { return &state{fresh: true} }

type entry struct {
	at int64
	id ID
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

// find returns the position of id's slot, or where it would go.
func (s *state) find(id ID) (int, bool) {
	n := len(s.slots)
	if n > 0 && s.slots[n-1].id < id {
		return n, false
	}
	i := sort.Search(n, func(i int) bool { return s.slots[i].id >= id })
	return i, i < n && s.slots[i].id == id
}

// findFresh returns the position of id in untouched, if it is there (not
// taken).
func (s *state) findFresh(id ID) (int, bool) {
	n := len(s.untouched)
	if n == 0 || s.untouched[n-1]&^gone < id {
		return n, false
	}
	i := sort.Search(n, func(i int) bool { return s.untouched[i]&^gone >= id })
	return i, i < n && s.untouched[i] == id
}

// lookup returns the position of id's slot, moving an untouched message to
// slots first; ok is false when the message is not live.
func (s *state) lookup(id ID) (int, bool) {
	i, ok := s.find(id)
	if ok && s.slots[i].state() != 0 {
		return i, true
	}
	f, ok := s.findFresh(id)
	if !ok {
		return i, false
	}
	s.take(f)
	i = s.insert(id)
	s.slots[i].loc = uint64(id)
	s.set(i, stateReady, 0)
	return i, true
}

// take marks untouched[f] taken. The message stays counted as live: the
// caller makes it a slot or removes it.
func (s *state) take(f int) {
	s.untouched[f] |= gone
	s.utaken++
	s.live--
	if s.utaken > 1024 && s.utaken > len(s.untouched)/2 {
		k := 0
		cur := -1
		for i, id := range s.untouched {
			if i == s.ucur {
				cur = k
			}
			if id&gone == 0 {
				s.untouched[k] = id
				k++
			}
		}
		if cur < 0 {
			cur = k
		}
		s.untouched, s.ucur, s.utaken = s.untouched[:k], cur, 0
		if cap(s.untouched) > 4*k+1024 {
			s.untouched = slices.Clone(s.untouched)
		}
	}
}

// get returns id's slot, nil when the message is not live. The pointer is
// good until the state next changes.
func (s *state) get(id ID) *slot {
	i, ok := s.lookup(id)
	if !ok {
		return nil
	}
	return &s.slots[i]
}

// where returns where id's payload is and its state, without moving an
// untouched message (which each may be walking over).
func (s *state) where(id ID) (loc uint64, st uint8, ok bool) {
	if i, ok := s.find(id); ok && s.slots[i].state() != 0 {
		return s.slots[i].loc, s.slots[i].state(), true
	}
	if _, ok := s.findFresh(id); ok {
		return uint64(id), stateReady, true
	}
	return 0, 0, false
}

// each calls fn for every live message in ID order, untouched ones as slots
// made for the call, until fn returns false.
func (s *state) each(fn func(m *slot) bool) {
	f := 0
	next := func() (ID, bool) {
		for ; f < len(s.untouched); f++ {
			if s.untouched[f]&gone == 0 {
				return s.untouched[f], true
			}
		}
		return 0, false
	}
	for i := range s.slots {
		m := &s.slots[i]
		if m.state() == 0 {
			continue
		}
		for id, ok := next(); ok && id < m.id; id, ok = next() {
			if !fn(&slot{id: id, loc: uint64(id), meta: uint64(stateReady)}) {
				return
			}
			f++
		}
		if !fn(m) {
			return
		}
	}
	for id, ok := next(); ok; id, ok = next() {
		if !fn(&slot{id: id, loc: uint64(id), meta: uint64(stateReady)}) {
			return
		}
		f++
	}
}

// insert returns the position of a new, not yet scheduled slot for id
// (state 0 until set), reusing a removed one.
func (s *state) insert(id ID) int {
	i, ok := s.find(id)
	if ok {
		s.removed--
	} else {
		s.slots = slices.Insert(s.slots, i, slot{id: id})
		if i < s.cur {
			s.cur++
		}
	}
	s.slots[i] = slot{id: id}
	s.live++
	return i
}

// set gives the slot at i a new state and schedules it.
func (s *state) set(i int, st uint8, at int64) {
	m := &s.slots[i]
	if m.state() == stateDead {
		s.nDead--
	}
	if st == stateDead {
		s.nDead++
	}
	m.meta = m.meta&^3 | uint64(st)
	m.at = at
	switch {
	case st == stateReady && at == 0:
		if i < s.cur {
			heap.Push(&s.ready, entry{id: m.id})
		}
	case st == stateReady || st == stateLeased:
		heap.Push(&s.timed, entry{at: at, id: m.id})
	}
}

// remove drops the slot at i.
func (s *state) remove(i int) {
	if s.slots[i].state() == stateDead {
		s.nDead--
	}
	s.slots[i].meta = 0
	s.live--
	s.removed++
	if s.removed > 1024 && s.removed > s.live {
		s.sweep()
	}
}

// sweep drops the removed slots from the slice.
func (s *state) sweep() {
	k, cur := 0, -1
	for i := range s.slots {
		if i == s.cur {
			cur = k
		}
		if s.slots[i].state() != 0 {
			s.slots[k] = s.slots[i]
			k++
		}
	}
	if cur < 0 {
		cur = k
	}
	s.slots, s.cur, s.removed = s.slots[:k], cur, 0
	if cap(s.slots) > 4*k+1024 {
		s.slots = slices.Clone(s.slots)
	}
}

// apply applies the event in the record at index.
func (s *state) apply(index uint64, payload []byte) error {
	e, err := decodeEvent(payload)
	if err != nil {
		return err
	}
	s.applyEvent(index, &e)
	return nil
}

// applyEvent applies e, the event in the record at index. Events that do
// not fit the state (about a message this process never saw because its
// push was dropped, or no longer live) change nothing: every event was
// decided under the lock against the state before it, so they only arise
// after records were dropped.
func (s *state) applyEvent(index uint64, e *event) {
	if e.Kind == kindPush {
		if n := len(s.untouched); n > 0 && s.untouched[n-1]&^gone >= ID(index) {
			return // cannot happen: pushes come in index order
		}
		s.untouched = append(s.untouched, ID(index))
		s.live++
		return
	}
	if e.Kind == kindMove {
		if f, ok := s.findFresh(e.ID); ok {
			s.take(f)
		}
	}
	i, ok := s.lookup(e.ID)
	if e.Kind == kindMove {
		// Whoever wrote it compacted: the next compaction is due
		// counting from here, in every process (maybeCompact).
		s.lastCp = max(s.lastCp, index)
		if !ok {
			i = s.insert(e.ID)
		}
		s.slots[i].loc = index
		s.slots[i].setAttempts(e.Attempts)
		s.set(i, e.State, e.Time)
		return
	}
	if !ok {
		return
	}
	m := &s.slots[i]
	switch e.Kind {
	case kindLease:
		if m.state() != stateDead {
			m.setAttempts(e.Attempts)
			s.set(i, stateLeased, e.Time)
		}
	case kindAck:
		if m.state() != stateDead {
			s.remove(i)
		}
	case kindNack:
		if m.state() == stateLeased {
			s.set(i, stateReady, e.Time)
		}
	case kindExtend:
		if m.state() == stateLeased {
			s.set(i, stateLeased, e.Time)
		}
	case kindDead:
		s.set(i, stateDead, 0)
	case kindRetry:
		if m.state() == stateDead {
			m.setAttempts(0)
			s.set(i, stateReady, e.Time)
		}
	case kindPurge:
		if m.state() == stateDead {
			s.remove(i)
		}
	}
}

// scheduled reports whether the heap entry e still describes its message.
func (s *state) scheduled(e entry) (int, bool) {
	i, ok := s.find(e.id)
	if !ok {
		return 0, false
	}
	m := &s.slots[i]
	st := m.state()
	return i, (st == stateReady || st == stateLeased) && m.at == e.at
}

// promote moves the timed entries due at now to the ready heap, when the
// cursor passed their message (the cursor finds the others).
func (s *state) promote(now int64) {
	for len(s.timed) > 0 && s.timed[0].at <= now {
		e := heap.Pop(&s.timed).(entry)
		if i, ok := s.scheduled(e); ok && i < s.cur {
			heap.Push(&s.ready, e)
		}
	}
}

// peek returns the oldest message available at now, leaving it in place,
// and when nothing is, the time the next one may become available (0:
// none scheduled). The slot pointer is good until the state next changes.
func (s *state) peek(now int64) (ID, *slot, int64) {
	s.promote(now)
	best, found := ID(0), false
	for len(s.ready) > 0 {
		if i, ok := s.scheduled(s.ready[0]); ok {
			best, found = s.slots[i].id, true
			break
		}
		heap.Pop(&s.ready)
	}
	for s.cur < len(s.slots) {
		m := &s.slots[s.cur]
		if m.available(now) {
			if !found || m.id < best {
				best, found = m.id, true
			}
			break
		}
		if st := m.state(); st == stateReady || st == stateLeased {
			// Due later: from now on the timed heap must know it.
			heap.Push(&s.timed, entry{at: m.at, id: m.id})
		}
		s.cur++
	}
	for s.ucur < len(s.untouched) && s.untouched[s.ucur]&gone != 0 {
		s.ucur++
	}
	if s.ucur < len(s.untouched) && (!found || s.untouched[s.ucur] < best) {
		best, found = s.untouched[s.ucur], true
	}
	if found {
		i, _ := s.lookup(best)
		return best, &s.slots[i], 0
	}
	for len(s.timed) > 0 {
		e := s.timed[0]
		if _, ok := s.scheduled(e); ok {
			return 0, nil, e.at
		}
		heap.Pop(&s.timed)
	}
	return 0, nil, 0
}

// counts returns the number of messages in each state at now.
func (s *state) counts(now int64) Stats {
	var st Stats
	st.Ready = len(s.untouched) - s.utaken
	for i := range s.slots {
		m := &s.slots[i]
		switch {
		case m.state() == 0:
		case m.state() == stateDead:
			st.Dead++
		case m.state() == stateLeased && m.at > now:
			st.Leased++
		case m.state() == stateReady && m.at > now:
			st.Delayed++
		default:
			st.Ready++
		}
	}
	return st
}

// dead returns the IDs of the dead letters, in order.
func (s *state) dead() []ID {
	var ids []ID
	if s.nDead == 0 {
		return nil
	}
	for i := range s.slots {
		if s.slots[i].state() == stateDead {
			ids = append(ids, s.slots[i].id)
		}
	}
	return ids
}

// below returns the live messages whose payload lies below index, in the
// order of their payloads in the journal.
func (s *state) below(index uint64) []slot {
	var ms []slot
	s.each(func(m *slot) bool {
		if m.loc < index {
			ms = append(ms, *m)
		}
		return true
	})
	slices.SortFunc(ms, func(a, b slot) int { return cmp.Compare(a.loc, b.loc) })
	return ms
}
