package pg

import (
	"context"
	"sync"
)

// coalescer runs concurrent calls of one kind in batches: one statement
// and one commit (so one flush of the write-ahead log) answers every call
// in the batch. The first caller to find no batch running leads: it takes
// every call waiting, runs them, answers each, and goes on while more
// arrive. Each caller's context bounds its own wait; one that leaves
// after its call was taken is answered by nobody, and its call may still
// be committed, as when a commit's answer is lost with the connection.
type coalescer[Req, Res any] struct {
	run func(ctx context.Context, reqs []Req) ([]Res, []error)

	mu      sync.Mutex
	pending []*coCall[Req, Res]
	leading bool
}

type coCall[Req, Res any] struct {
	req  Req
	res  Res
	err  error
	done chan struct{}
}

// maxBatch bounds one statement's batch.
const maxBatch = 512

func (c *coalescer[Req, Res]) do(ctx context.Context, req Req) (Res, error) {
	call := &coCall[Req, Res]{req: req, done: make(chan struct{})}
	c.mu.Lock()
	c.pending = append(c.pending, call)
	lead := !c.leading
	c.leading = true
	c.mu.Unlock()
	if lead {
		go c.lead()
	}
	select {
	case <-call.done:
		return call.res, call.err
	case <-ctx.Done():
		var zero Res
		return zero, ctx.Err()
	}
}

func (c *coalescer[Req, Res]) lead() {
	for {
		c.mu.Lock()
		batch := c.pending
		if len(batch) > maxBatch {
			batch = batch[:maxBatch]
		}
		c.pending = c.pending[len(batch):]
		if len(batch) == 0 {
			c.leading = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		reqs := make([]Req, len(batch))
		for i, call := range batch {
			reqs[i] = call.req
		}
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		res, errs := c.run(ctx, reqs)
		cancel()
		for i, call := range batch {
			if i < len(res) {
				call.res = res[i]
			}
			if i < len(errs) {
				call.err = errs[i]
			}
			close(call.done)
		}
	}
}
