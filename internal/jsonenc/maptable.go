package jsonenc

import (
	"bytes"
	"reflect"
	"slices"
	"unsafe"
)

// A one-field update of a large map changes one slot of the map's hash
// table, but Go says nowhere which: the walk of syncMap reads every member,
// about 20 ns each (10,000 members: 200 µs an update). What the members of
// plain records (memEq types, held in the table itself) look like is all
// in the table's memory, though, and a copy of that memory, compared as
// bytes, finds the changed slots at memory speed: equal slots hold the
// same key and the same value (strings are immutable, and a slot that
// holds the same string header holds the very same string), and only the
// slots that differ are looked at.
//
// The table's layout is the runtime's (internal/runtime/maps, the Swiss
// tables of Go 1.24 on), not an API: like the iterator peek (mapiter.go),
// it is checked once at startup against reflect's own reading of maps of
// several sizes, with deletions; where the check fails the walk is all
// there is. Each copy is checked again when it is taken: as many full
// slots as the map has members, each holding one of the keys the walk just
// found. Anything unexpected (the map replaced, grown or rehashed, a slot
// emptied or filled, a key not known) falls back to the walk, which takes
// a new copy.
//
// The copy is pointer-free memory ([]byte): its pointers keep nothing
// alive and are never followed. Only the live map is read.
//
// The compare reads the table and its copy in full, whatever changed: at
// 10,000 members of 56-byte slots, 2 × 0.93 MB, about 27 µs when they are
// in the CPU caches and 60–90 µs when other work evicted them between two
// updates (BenchmarkLogFieldCold in store; issue 23's bench interleaves
// contenders, so it measures the cold case). It is the only part of a
// log-mode update that grows with the document. Splitting it between two
// goroutines made it slower on a loaded 2-core machine (76 µs against
// 40 µs, median, cold): a helper preempted while it holds its part makes
// the update wait.

// rtMap is internal/runtime/maps.Map.
type rtMap struct {
	used        uint64
	seed        uintptr
	dirPtr      unsafe.Pointer
	dirLen      int
	globalDepth uint8
	globalShift uint8
	writing     uint8
	tombstone   bool
	clearSeq    uint64
}

// rtTable is internal/runtime/maps.table.
type rtTable struct {
	used       uint16
	capacity   uint16
	growthLeft uint16
	localDepth uint8
	index      int
	groups     unsafe.Pointer
	lengthMask uint64
}

const (
	groupSlots = 8
	ctrlEmpty  = 0x80
)

// tableLayout is where a map type keeps its slots, as reflect's
// groupAndSlotOf builds it: a group is a control word of one byte a slot,
// then groupSlots slots of struct{key; elem}.
type tableLayout struct {
	slotSize, groupSize, elemOff uintptr
}

// tableLayoutFor returns the layout of map type t if its tables can be
// read in place: string keys and values held in the slots themselves
// (not through a pointer: an update would then change the value where the
// slot does not show it).
func tableLayoutFor(t reflect.Type) *tableLayout {
	if t.Kind() != reflect.Map || t.Key().Kind() != reflect.String || t.Elem().Size() > 128 {
		return nil
	}
	slot := reflect.StructOf([]reflect.StructField{{Name: "Key", Type: t.Key()}, {Name: "Elem", Type: t.Elem()}})
	group := reflect.StructOf([]reflect.StructField{
		{Name: "Ctrl", Type: reflect.TypeFor[uint64]()},
		{Name: "Slots", Type: reflect.ArrayOf(groupSlots, slot)},
	})
	return &tableLayout{slotSize: slot.Size(), groupSize: group.Size(), elemOff: slot.Field(1).Offset}
}

// mapTable is a copy of the memory of a map's table(s), as it was when the
// map node that holds it last described the map.
type mapTable struct {
	m      unsafe.Pointer   // the map
	used   uint64           // its length
	dir    unsafe.Pointer   // its directory, or its only group
	dirLen int              // 0: a small map of one group
	tables []unsafe.Pointer // the distinct tables, in directory order
	groups []unsafe.Pointer // each table's groups
	sizes  []uintptr        // and their size in bytes
	mem    []byte           // all the groups, back to back
	// stale: the members (indices in the node) that SetMember stored
	// since the copy last agreed with the node. Their slots may hold
	// again what the copy holds while the node describes another value
	// (a member changed by SetMember, then set back by hand): a sync
	// looks at each of them, whatever the compare says.
	stale []int
}

// maxStale bounds mapTable.stale: past it, SetMember drops the copy, and
// the next sync walks the map and takes a new one.
const maxStale = 64

// regions reads where the map m keeps its groups. It refuses (false)
// what it does not expect.
func (l *tableLayout) regions(m unsafe.Pointer, t *mapTable) bool {
	h := (*rtMap)(m)
	t.m, t.used, t.dir, t.dirLen = m, h.used, h.dirPtr, h.dirLen
	t.tables, t.groups, t.sizes = t.tables[:0], t.groups[:0], t.sizes[:0]
	if h.dirLen == 0 {
		if h.dirPtr == nil {
			return h.used == 0
		}
		if h.used > groupSlots {
			return false
		}
		t.groups, t.sizes = append(t.groups, h.dirPtr), append(t.sizes, l.groupSize)
		return true
	}
	if h.dirLen < 0 || h.dirLen&(h.dirLen-1) != 0 || h.dirPtr == nil {
		return false
	}
	dir := unsafe.Slice((*unsafe.Pointer)(h.dirPtr), h.dirLen)
	var total uint64
	for i, tp := range dir {
		if tp == nil {
			return false
		}
		if i > 0 && tp == dir[i-1] {
			continue // one table in several directory entries
		}
		tb := (*rtTable)(tp)
		n := tb.lengthMask + 1
		if tb.groups == nil || n&(n-1) != 0 || uint64(tb.capacity) != n*groupSlots {
			return false
		}
		total += uint64(tb.used)
		t.tables = append(t.tables, tp)
		t.groups = append(t.groups, tb.groups)
		t.sizes = append(t.sizes, uintptr(n)*l.groupSize)
	}
	return total == h.used
}

// take copies the map's groups into t.mem, after regions.
func (t *mapTable) take() {
	total := uintptr(0)
	for _, s := range t.sizes {
		total += s
	}
	if uintptr(cap(t.mem)) < total {
		t.mem = make([]byte, total)
	}
	t.mem = t.mem[:total]
	off := uintptr(0)
	for i, g := range t.groups {
		copy(t.mem[off:], unsafe.Slice((*byte)(g), t.sizes[i]))
		off += t.sizes[i]
	}
}

// fullSlots calls fn with the address of each full slot of the live map,
// after regions; it stops when fn returns false.
func (l *tableLayout) fullSlots(t *mapTable, fn func(slot unsafe.Pointer) bool) bool {
	for i, g := range t.groups {
		for off := uintptr(0); off < t.sizes[i]; off += l.groupSize {
			grp := unsafe.Add(g, off)
			ctrl := *(*uint64)(grp)
			for s := range uintptr(groupSlots) {
				if byte(ctrl>>(8*s))&ctrlEmpty != 0 {
					continue // empty or deleted
				}
				if !fn(unsafe.Add(grp, 8+s*l.slotSize)) {
					return false
				}
			}
		}
	}
	return true
}

// sameShape reports whether the live map m still keeps its groups where
// t saw them (no growth, no new map): then its memory can be compared with
// t's copy.
func (l *tableLayout) sameShape(t *mapTable, m unsafe.Pointer) bool {
	h := (*rtMap)(m)
	if m != t.m || h.used != t.used || h.dirPtr != t.dir || h.dirLen != t.dirLen {
		return false
	}
	if h.dirLen == 0 {
		return true
	}
	dir := unsafe.Slice((*unsafe.Pointer)(h.dirPtr), h.dirLen)
	k := 0
	for i, tp := range dir {
		if i > 0 && tp == dir[i-1] {
			continue
		}
		if k == len(t.tables) || tp != t.tables[k] {
			return false
		}
		if tb := (*rtTable)(tp); tb.groups != t.groups[k] || uintptr(tb.lengthMask+1)*l.groupSize != t.sizes[k] {
			return false
		}
		k++
	}
	return k == len(t.tables)
}

// changedGroups calls fn with each group of the live map whose memory
// differs from the copy (its address and its offset in mem), after
// sameShape. It stops when fn returns false.
func (l *tableLayout) changedGroups(t *mapTable, fn func(grp unsafe.Pointer, off uintptr) bool) bool {
	base := uintptr(0)
	// Compare in spans of a few groups: one call of bytes.Equal per span
	// where nothing changed, and the changed group found within.
	span := max(l.groupSize, 4096/l.groupSize*l.groupSize)
	for i, g := range t.groups {
		size := t.sizes[i]
		for off := uintptr(0); off < size; off += span {
			n := min(span, size-off)
			live := unsafe.Slice((*byte)(unsafe.Add(g, off)), n)
			if bytes.Equal(live, t.mem[base+off:base+off+n]) {
				continue
			}
			for o := off; o < off+n; o += l.groupSize {
				lg := unsafe.Slice((*byte)(unsafe.Add(g, o)), l.groupSize)
				if !bytes.Equal(lg, t.mem[base+o:base+o+l.groupSize]) {
					if !fn(unsafe.Add(g, o), base+o) {
						return false
					}
				}
			}
		}
		base += size
	}
	return true
}

var tablePeekOK = tablePeekWorks()

type peekRec struct {
	S string
	N int64
	B bool
	T string
}

// tablePeekWorks checks the layout on maps of the kinds the store holds:
// small (one group) and large (several tables), after deletions, for a
// key type and a record type.
func tablePeekWorks() bool {
	if unsafe.Sizeof(rtMap{}) != 48 || unsafe.Sizeof(rtTable{}) != 32 {
		return false
	}
	for _, n := range []int{0, 1, 5, 8, 9, 100, 3000} {
		ints := map[string]int64{}
		recs := map[string]peekRec{}
		for i := range n {
			k := "k" + string(rune('a'+i%26)) + string(rune('A'+i/26%26)) + string(rune('0'+i/676))
			ints[k] = int64(i)*7919 + 1
			recs[k] = peekRec{S: k + "!", N: int64(i), B: i%2 == 0, T: "t"}
		}
		for i := 0; i < n; i += 3 {
			k := "k" + string(rune('a'+i%26)) + string(rune('A'+i/26%26)) + string(rune('0'+i/676))
			delete(ints, k)
			delete(recs, k)
		}
		if !tableAgrees(ints) || !tableAgrees(recs) {
			return false
		}
	}
	return true
}

// tableAgrees reports whether reading m's table in place finds exactly
// m's members.
func tableAgrees[V comparable](m map[string]V) bool {
	rv := reflect.ValueOf(m)
	l := tableLayoutFor(rv.Type())
	if l == nil {
		return false
	}
	var t mapTable
	if !l.regions(rv.UnsafePointer(), &t) || t.used != uint64(len(m)) {
		return false
	}
	seen := 0
	ok := l.fullSlots(&t, func(slot unsafe.Pointer) bool {
		k := *(*string)(slot)
		v, in := m[k]
		seen++
		return in && *(*V)(unsafe.Add(slot, l.elemOff)) == v
	})
	if !ok || seen != len(m) {
		return false
	}
	// And a change of one member shows in its group alone.
	t.take()
	if !l.sameShape(&t, rv.UnsafePointer()) {
		return false
	}
	changed := 0
	l.changedGroups(&t, func(unsafe.Pointer, uintptr) bool { changed++; return true })
	if changed != 0 {
		return false
	}
	for k, v := range m {
		var zero V
		m[k] = zero
		l.changedGroups(&t, func(unsafe.Pointer, uintptr) bool { changed++; return true })
		m[k] = v
		return changed == 1 || v == zero && changed == 0
	}
	return true
}

// tableCommit brings a map node's copy up to date once the whole sync
// succeeded: a changed group's bytes as the sync compared them (t, off,
// and sc.tbuf[at:at+size]), or a new copy for n (t nil, install, which may
// be nil: no copy).
type tableCommit struct {
	t        *mapTable
	off      uintptr
	at, size int
	n        *node
	install  *mapTable
	unstale  bool // t's stale members were all looked at: forget them
}

// takeTable copies the table of v, a map that n (a map node that Sync has
// just brought up to date with it) describes, and checks that it holds
// n's keys: nil when it does not, or when the map's table cannot be read.
func takeTable(l *tableLayout, n *node, v reflect.Value) *mapTable {
	t := &mapTable{}
	if v.IsNil() || !l.regions(v.UnsafePointer(), t) || t.used != uint64(len(n.keys)) || t.used != uint64(v.Len()) {
		return nil
	}
	seen := 0
	if !l.fullSlots(t, func(slot unsafe.Pointer) bool {
		seen++
		_, ok := n.index.find(*(*string)(slot))
		return ok
	}) || seen != len(n.keys) {
		return nil
	}
	t.take()
	return t
}

// retakeTable gives n a new copy of v's table once the sync succeeds,
// after the walk brought n up to date with v.
func (c *Codec) retakeTable(sc *scratch, p *objPlan, n *node, v reflect.Value) {
	if p.table == nil || !tablePeekOK {
		return
	}
	sc.tables = append(sc.tables, tableCommit{n: n, install: takeTable(p.table, n, v)})
}

// syncMapTable is syncMap for a map node that holds a copy of the map's
// table: only the slots whose memory changed are looked at. ok is false
// when the copy cannot tell (the map was replaced, grew, or gained or lost
// a member): then the walk decides, and takes a new copy.
func (c *Codec) syncMapTable(sc *scratch, p *objPlan, n *node, v reflect.Value, depth int) (changed, ok bool, err error) {
	l, t := p.table, n.table
	if v.IsNil() || !l.sameShape(t, v.UnsafePointer()) || t.used != uint64(len(n.keys)) || n.snaps == nil {
		return false, false, nil
	}
	memEqual := p.elem.ops.memEqual
	et := p.t.Elem()
	var vv reflect.Value
	commits, tables, tbuf := len(sc.commits), len(sc.tables), len(sc.tbuf)
	ok = l.changedGroups(t, func(grp unsafe.Pointer, off uintptr) bool {
		old := t.mem[off : off+l.groupSize]
		ctrl := *(*uint64)(grp)
		if ctrl != *(*uint64)(unsafe.Pointer(&old[0])) {
			return false // a slot filled or emptied: members came or went
		}
		for s := range uintptr(groupSlots) {
			if byte(ctrl>>(8*s))&ctrlEmpty != 0 {
				continue
			}
			so := 8 + s*l.slotSize
			slot := unsafe.Add(grp, so)
			if bytes.Equal(unsafe.Slice((*byte)(slot), l.slotSize), old[so:so+l.slotSize]) {
				continue // the same key and value
			}
			// The same number of members, each in a slot that held one
			// before: if every changed slot holds a key the node knows,
			// the keys are the node's.
			k := *(*string)(slot)
			i, found := n.index.find(k)
			if !found {
				return false
			}
			if slices.Contains(t.stale, i) {
				continue // looked at below
			}
			cur := unsafe.Add(slot, l.elemOff)
			if n.snaps[i] != nil && memEqual(cur, n.snaps[i]) {
				continue
			}
			if !vv.IsValid() {
				vv = reflect.New(et).Elem()
			}
			vv.Set(reflect.NewAt(et, cur).Elem())
			nk, kidChanged, kerr := c.sync(sc, p.elem, n.kids[i], vv, depth+1)
			if kerr != nil {
				err = inMember(k, kerr)
				return false
			}
			if kidChanged {
				sc.commits = append(sc.commits, kidCommit{n, i, nk})
			}
		}
		at := len(sc.tbuf)
		sc.tbuf = append(sc.tbuf, unsafe.Slice((*byte)(grp), l.groupSize)...)
		sc.tables = append(sc.tables, tableCommit{t: t, off: off, at: at, size: int(l.groupSize)})
		return true
	})
	if ok && len(t.stale) > 0 {
		ok, err = c.syncStale(sc, p, n, v, depth)
	}
	if !ok {
		clear(sc.commits[commits:])
		clear(sc.tables[tables:])
		sc.commits, sc.tables, sc.tbuf = sc.commits[:commits], sc.tables[:tables], sc.tbuf[:tbuf]
		return false, false, err
	}
	return len(sc.commits) > commits, true, nil
}

// syncStale is syncMapTable for the members SetMember stored since the
// copy last agreed with the node (mapTable.stale), which the compare of
// the copy cannot vouch for: each is read from the map and compared with
// the node's snapshot.
func (c *Codec) syncStale(sc *scratch, p *objPlan, n *node, v reflect.Value, depth int) (bool, error) {
	t, memEqual := n.table, p.elem.ops.memEqual
	kv := reflect.New(p.t.Key()).Elem()
	vv := reflect.New(p.t.Elem()).Elem()
	for j, i := range t.stale {
		if slices.Contains(t.stale[:j], i) {
			continue
		}
		kv.SetString(n.keys[i])
		cur := v.MapIndex(kv)
		if !cur.IsValid() {
			return false, nil // gone: the walk decides
		}
		vv.Set(cur)
		if n.snaps[i] != nil && memEqual(unsafe.Pointer(vv.UnsafeAddr()), n.snaps[i]) {
			continue
		}
		nk, changed, err := c.sync(sc, p.elem, n.kids[i], vv, depth+1)
		if err != nil {
			return false, inMember(n.keys[i], err)
		}
		if changed {
			sc.commits = append(sc.commits, kidCommit{n, i, nk})
		}
	}
	sc.tables = append(sc.tables, tableCommit{t: t, unstale: true})
	return true, nil
}
