package journal

import (
	"context"
	"fmt"
)

// DropBefore removes the segments whose records all come before index,
// never the last one, and returns the first index still kept. It first
// appends a TypeRetention record saying so ("drop-before <first kept>"),
// so the removal is part of the signed history, then removes the older
// segments, with one directory fsync at the end. The removals may reach
// the disk in any subset: a segment no longer linked to the chain that
// ends with the last one is a leftover the retention record covers, which
// readers skip and the next writer removes. The tree stays
// verifiable: the first kept segment's header holds the Merkle state of
// everything before it.
func (j *Journal) DropBefore(ctx context.Context, index uint64) (uint64, error) {
	var first uint64
	err := j.do(ctx, "drop", func() error {
		bases, err := listSegments(j.fs, j.dir)
		if err != nil {
			return err
		}
		k := 0
		for k+1 < len(bases) && bases[k+1] <= index && bases[k+1] <= j.seg.base {
			k++
		}
		first = bases[k]
		if k == 0 {
			return nil
		}
		msg := fmt.Sprintf("drop-before %d\nremoving %d segment(s) holding records [%d, %d), as asked for records before %d",
			first, k, bases[0], first, index)
		anchors, err := j.dropAnchors(ctx, bases[0], first)
		if err != nil {
			return err
		}
		for _, a := range anchors {
			msg += "\n" + a
		}
		r := &request{ctx: ctx, typ: TypeRetention, payloads: [][]byte{[]byte(msg)}, t: j.o.Now().UnixNano()}
		if err := j.commit([]*request{r}, j.o.flushes(), nil); err != nil {
			return err
		}
		for _, b := range bases[:k] {
			if err := removeSegment(j.fs, j.dir, segName(b)); err != nil {
				return err
			}
		}
		return j.fs.SyncDir(j.dir)
	})
	return first, err
}
