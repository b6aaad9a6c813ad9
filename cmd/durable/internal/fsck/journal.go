package fsck

import (
	"context"
	"errors"
	"fmt"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/queue"
)

// journal checks a journal or queue directory with journal.Verify and, for
// a queue, a read-only queue.Open, which decodes every event. Neither
// takes a lock or writes anything.
func (c *checker) journal(dir string, ents []entry) {
	for i := range ents {
		if isTempName(ents[i].name) {
			c.temp(&ents[i])
		}
	}
	rep, err := journal.Verify(c.ctx, dir, nil)
	if cerr := c.ctx.Err(); cerr != nil {
		return
	}
	isQueue := looksLikeQueue(dir, rep)
	torn, corrupt, tampered, what := TornJournal, CorruptJournal, TamperedJournal, "journal"
	if isQueue {
		torn, corrupt, tampered, what = TornQueue, CorruptQueue, TamperedQueue, "queue"
		c.rep.Checked.Queues++
	} else {
		c.rep.Checked.Journals++
	}
	switch {
	case errors.Is(err, durable.ErrTampered):
		c.add(Finding{Path: dir, Kind: tampered, Problem: true,
			Detail: fmt.Sprintf("the %s does not verify: %v", what, errText(err, dir)),
			Action: "not fixable: keep the directory as it is for investigation ('durable log verify' with the signer's key says more)"})
		return
	case errors.Is(err, durable.ErrCorrupt):
		c.add(Finding{Path: dir, Kind: corrupt, Problem: true,
			Detail: fmt.Sprintf("the %s is damaged beyond its torn tail: %v", what, errText(err, dir)),
			Action: "not fixable: records past the damage cannot be trusted; restore the directory from a backup or keep it for investigation"})
		return
	case err != nil:
		c.unreadable(dir, err)
		return
	}
	if isQueue && !c.queue(dir, corrupt) {
		return
	}
	t := rep.Torn
	if t == nil {
		return
	}
	fd := Finding{Path: dir, Kind: torn, Problem: true, Fixable: true,
		Detail: fmt.Sprintf("%d bytes at offset %d of %s are a torn batch that a crash left; it was never acknowledged", t.Bytes, t.Offset, t.Path),
		Action: fmt.Sprintf("--fix opens the %s for writing, as its next writer would: the torn bytes are copied to evidence/, cut, and a note record says so", what)}
	c.fix(fd, func() (string, error) {
		var err error
		if isQueue {
			var q *queue.Queue
			if q, err = queue.Open(dir, nil); err == nil {
				err = q.Close()
			}
		} else {
			var j *journal.Journal
			if j, err = journal.Open(dir, nil); err == nil {
				err = j.Close()
			}
		}
		if err != nil {
			return "", err
		}
		after, err := journal.Verify(context.WithoutCancel(c.ctx), dir, nil)
		if err != nil {
			return "", fmt.Errorf("after the repair: %w", err)
		}
		if after.Torn != nil {
			return "", fmt.Errorf("a torn tail is still there after the repair (%d bytes at offset %d): another process may be writing", after.Torn.Bytes, after.Torn.Offset)
		}
		return fmt.Sprintf("cut %d bytes; they are kept in %s/evidence", t.Bytes, dir), nil
	})
}

// looksLikeQueue tells a queue's journal from another: its checkpoint's
// origin, or else its first data record, which in a queue is an event
// (version 1, kind 1 to 9; see queue/FORMAT.md).
func looksLikeQueue(dir string, rep *journal.Report) bool {
	if rep != nil && rep.Checkpoint != nil {
		return isQueueOrigin(rep.Checkpoint.Origin)
	}
	j, err := journal.Open(dir, &journal.Options{ReadOnly: true})
	if err != nil {
		return false
	}
	defer j.Close()
	from := uint64(0)
	if rep != nil {
		from = rep.First
	}
	for r, err := range j.Scan(from) {
		if err != nil {
			return false
		}
		if r.Type != journal.TypeData {
			continue
		}
		p := r.Payload
		return len(p) >= 2 && p[0] == 1 && p[1] >= 1 && p[1] <= 9
	}
	return false
}
