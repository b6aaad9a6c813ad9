package journal

import (
	"context"
	"errors"
	"fmt"
)

// Update is a read-then-append transaction across goroutines and
// processes. It takes the directory's lock, catches up with what other
// processes appended (recovering a torn tail as Open does), and calls fn
// with the journal's size: every record below size is committed and can be
// read with Scan while fn runs, and no record can be appended by anyone
// until Update returns. The records fn returns are then appended as one
// batch, under the same lock, and Update returns the index of the first
// once they are durable (or size, when fn returns none). An error from fn
// is returned, wrapped, and nothing is appended.
//
// Update does not share its write with concurrent appends (it runs alone);
// use Append for records that need no decision.
func (j *Journal) Update(ctx context.Context, fn func(size uint64) ([][]byte, error)) (uint64, error) {
	var first uint64
	err := j.do(ctx, "update", func() error {
		payloads, err := fn(j.next)
		if err != nil {
			return err
		}
		first = j.next
		if len(payloads) == 0 {
			return nil
		}
		for i, p := range payloads {
			if len(p) > MaxPayload {
				return fmt.Errorf("record %d is %d bytes, more than MaxPayload", i, len(p))
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		r := &request{ctx: ctx, typ: TypeData, payloads: payloads, t: j.o.Now().UnixNano()}
		if err := j.commit([]*request{r}); err != nil {
			return err
		}
		if r.first != first {
			return errors.New("update: records not appended where expected")
		}
		return nil
	})
	return first, err
}
