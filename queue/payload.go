package queue

import (
	"fmt"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/journal"
)

// Payloads live in the journal, in the record that pushed (or last moved)
// their message. A process keeps a bounded cache of the payloads it will
// likely deliver next: those it pushed or read from the journal while
// catching up, while there is room, and those a read-ahead found after a
// miss. A payload leaves the cache once its message is delivered, dead,
// moved or gone, so the cache holds only messages waiting for a Pop.
const (
	cacheBytes     = 4 << 20
	readAheadBytes = 512 << 10
)

type payloadCache struct {
	m     map[uint64][]byte // by the index of the record that holds it
	bytes int
}

func (c *payloadCache) get(loc uint64) ([]byte, bool) {
	p, ok := c.m[loc]
	return p, ok
}

// put keeps p, the payload in the record loc, if there is room.
func (c *payloadCache) put(loc uint64, p []byte) {
	if c.bytes+len(p) > cacheBytes {
		return
	}
	if c.m == nil {
		c.m = make(map[uint64][]byte)
	}
	if _, ok := c.m[loc]; ok {
		return
	}
	c.m[loc] = p
	c.bytes += len(p)
}

func (c *payloadCache) drop(loc uint64) {
	if p, ok := c.m[loc]; ok {
		delete(c.m, loc)
		c.bytes -= len(p)
	}
}

func (c *payloadCache) clear() {
	c.m, c.bytes = nil, 0
}

// note keeps the cache in step with an event applied at index: a push or
// move brings a payload that may be delivered soon; any other change of a
// message means it is not waiting any more. Caller holds q.mu, and calls
// it before the state applies e (it reads the message's old location).
func (q *Queue) note(index uint64, e *event) {
	switch e.Kind {
	case kindPush:
		q.cache.put(index, e.Payload)
		return
	case kindMove:
		if loc, _, ok := q.st.where(e.ID); ok {
			q.cache.drop(loc)
		}
		if e.State == stateReady {
			q.cache.put(index, e.Payload)
		}
		return
	case kindNack, kindExtend, kindRetry:
		return // the payload is not in the cache, or still wanted
	}
	if loc, _, ok := q.st.where(e.ID); ok {
		q.cache.drop(loc)
	}
}

// payload returns m's payload, from the cache or the journal. On a miss it
// reads ahead: the payloads of live messages in the records after m's
// (the next deliveries, usually) go to the cache. Caller holds q.mu, and
// the journal's lock or a state recent enough that m's record cannot have
// been dropped yet; a record missing or not m's is corruption (or, outside
// the lock, a compaction that ran meanwhile: the caller refreshes and
// tries again). It does not change the state.
func (q *Queue) payload(m *slot) ([]byte, error) {
	if p, ok := q.cache.get(m.loc); ok {
		return p, nil
	}
	id, loc := m.id, m.loc
	var got []byte
	found := false
	budget := readAheadBytes
	for rec, err := range q.j.Scan(loc) {
		if err != nil {
			return nil, err
		}
		if !found {
			if rec.Index != loc || rec.Type != journal.TypeData {
				break
			}
			e, err := decodeEvent(rec.Payload)
			if err != nil {
				return nil, fmt.Errorf("record %d: %w", rec.Index, err)
			}
			if !(e.Kind == kindPush && ID(rec.Index) == id) && !(e.Kind == kindMove && e.ID == id) {
				return nil, fmt.Errorf("%w: record %d holds a %v event, not message %v's payload", durable.ErrCorrupt, loc, e.Kind, id)
			}
			got, found = e.Payload, true
			continue
		}
		budget -= len(rec.Payload) + 32
		if budget < 0 || rec.Index >= q.st.seen {
			break
		}
		if rec.Type != journal.TypeData {
			continue
		}
		e, err := decodeEvent(rec.Payload)
		if err != nil {
			break // reported when it is needed
		}
		mid := e.ID
		switch e.Kind {
		case kindPush:
			mid = ID(rec.Index)
		case kindMove:
		default:
			continue
		}
		if loc, st, ok := q.st.where(mid); ok && loc == rec.Index && st == stateReady {
			q.cache.put(rec.Index, e.Payload)
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: message %v's payload, record %d, is missing from the journal", durable.ErrCorrupt, id, loc)
	}
	return got, nil
}

// eachPayload reads the payloads of ms, sorted by loc (state.below), in
// one pass over the journal, and calls fn with each in that order until
// fn returns false. A payload missing, or a record that is not its
// message's, is corruption. Caller holds q.mu (and, for a decision, the
// journal's lock).
func (q *Queue) eachPayload(ms []slot, fn func(m slot, p []byte) bool) error {
	if len(ms) == 0 {
		return nil
	}
	k := 0
	for rec, err := range q.j.Scan(ms[0].loc) {
		if err != nil {
			return err
		}
		m := ms[k]
		if rec.Index < m.loc {
			continue
		}
		if rec.Index > m.loc || rec.Type != journal.TypeData {
			break
		}
		e, err := decodeEvent(rec.Payload)
		if err != nil {
			return fmt.Errorf("record %d: %w", rec.Index, err)
		}
		if !(e.Kind == kindPush && ID(rec.Index) == m.id) && !(e.Kind == kindMove && e.ID == m.id) {
			break
		}
		if k++; !fn(m, e.Payload) || k == len(ms) {
			return nil
		}
	}
	return fmt.Errorf("%w: message %v's payload, record %d, is missing from the journal", durable.ErrCorrupt, ms[k].id, ms[k].loc)
}
