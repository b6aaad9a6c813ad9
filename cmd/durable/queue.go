package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/durable-go/durable/queue"
)

func queueVerb() verb {
	return verb{
		name:    "queue",
		args:    "push|pop|ack|nack|extend|ls|dead ...",
		summary: "a persistent work queue: push, pop under a lease, ack",
		about: `A persistent work queue in a directory (package queue): at-least-once
delivery, leases, acknowledgements and dead letters. Every command returns only
once what it did is durable; several processes may use one queue at once.
Only push (and pop --create) makes a new queue: any other subcommand on a DIR
that holds none exits 14. A message becomes a dead letter when it has had
5 deliveries (--max-attempts on pop and nack; -1: unlimited).

  push [--json] DIR [MSG...]           push the messages, or one per stdin line;
                                       print each ID once it is durable
  pop [--lease 30s] [--timeout D] [--no-wait] [--json] DIR
                                       lease a message: print "RECEIPT<TAB>payload"
                                       (RECEIPT is ID.ATTEMPT: this lease)
  ack DIR RECEIPT...                   acknowledge: the message is gone for good
  nack [--delay D] DIR RECEIPT...      return the message (a dead letter after
                                       its last attempt)
  extend [--lease D] DIR RECEIPT...    make the lease end D from now
  ls [--json] DIR                      count ready, delayed, leased, dead
  dead [--json] DIR                    list the dead letters
  dead retry DIR ID...                 make dead letters ready again
  dead purge DIR [ID...]               remove dead letters (all without IDs)

Exit codes: 0 done; 2 usage error; 6 locked; 7 pop timed out; 14 no such
queue or message; 15 pop --no-wait found no message; 1 any other failure.
Run 'durable queue SUBCOMMAND --help' for its flags.`,
		example: `echo "resize photo 42" | durable queue push /var/spool/jobs
line=$(durable queue pop --lease 5m /var/spool/jobs) && durable queue ack /var/spool/jobs "${line%%	*}"`,
		run: runQueue,
	}
}

// queueSub is one subcommand of "durable queue".
type queueSub = subverb

func queueSubs() map[string]queueSub {
	return map[string]queueSub{
		"push": {"DIR [MSG...]", `Pushes each MSG, or each line of stdin when there are none (blank lines are
skipped), and prints each message's ID once it is durable. Stdin is pushed
as it arrives: lines that arrive together share one write and one flush. push creates the queue if DIR holds none.

Exit codes: 0 pushed; 2 usage error (a message over the size limit too,
before anything is pushed); 5 disk full; 1 any other failure.`, `printf 'job 1\njob 2\n' | durable queue push /var/spool/jobs`, runQueuePush},
		"pop": {"DIR", `Leases the oldest available message for --lease and prints the lease's
receipt (ID.ATTEMPT), a tab and its payload (with --json: id, receipt,
payload, payload_encoding, attempt, lease_until). Until the lease ends no one
else gets it; ack it with the receipt when done, or it is delivered again.
Waits for a message (at most --timeout, then exit 7); with --no-wait exits 15
at once when the queue has none. On a DIR that holds no queue it exits 14,
unless --create. A message that has had --max-attempts deliveries (5) is not
delivered again but becomes a dead letter when its lease runs out.

Exit codes: 0 a message was leased; 2 usage error; 7 timed out (nothing was
leased); 14 no queue in DIR; 15 --no-wait and no message available.`, `durable queue pop --lease 10m --json /var/spool/jobs`, runQueuePop},
		"ack": {"DIR RECEIPT...", `Acknowledges messages by the receipt pop printed: once this returns they are
never delivered again. Receipts are handled in order: on a failure the
message says which were done.

Exit codes: 0 acknowledged; 2 usage error (a bare ID is not a receipt); 10 the
lease was lost (the message was delivered again since); 14 no such queue or
message (acknowledged already, or never pushed).`, `durable queue ack /var/spool/jobs 17.1`, runQueueAck},
		"nack": {"DIR RECEIPT...", `Returns leased messages to the queue, available again after --delay; a message
on its last attempt (--max-attempts, 5 by default) becomes a dead letter.

Exit codes: 0 returned; 2 usage error; 10 the lease was lost; 14 no such queue
or message.`, `durable queue nack --delay 1m /var/spool/jobs 17.1`, runQueueNack},
		"extend": {"DIR RECEIPT...", `Makes the leases the receipts name end --lease from now.

Exit codes: 0 extended; 1 the lease already ended; 2 usage error; 10 the lease
was lost to another consumer; 14 no such queue or message.`, `durable queue extend --lease 10m /var/spool/jobs 17.1`, runQueueExtend},
		"ls": {"DIR", `Counts the live messages: ready (including expired leases), delayed, leased
and dead. Exit codes: 0 counted; 14 no queue in DIR.`, `durable queue ls --json /var/spool/jobs`, runQueueLs},
		"dead": {"[retry|purge] DIR [ID...]", `Lists the dead letters (ID, attempts, payload); "dead retry DIR ID..." makes
them ready again with fresh attempts; "dead purge DIR [ID...]" removes them for
good (all of them when no ID is given). Exit codes: 0 done; 14 no such
queue or message.`, `durable queue dead purge /var/spool/jobs`, runQueueDead},
	}
}

func runQueue(c *cli, args []string) int { return c.dispatch(args, queueSubs()) }

func parseIDs(ss []string) ([]queue.ID, error) {
	var ids []queue.ID
	for _, s := range ss {
		id, err := queue.ParseID(s)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func runQueuePush(c *cli, args []string) int {
	fs := c.flags()
	asJSON := fs.Bool("json", false, "print {\"id\": N} per message, or the error, as JSON")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) < 1 {
		return c.usageError("want a DIR")
	}
	for i, m := range rest[1:] {
		if len(m) > queue.MaxPayload {
			return c.usageError(fmt.Sprintf("message %d is %d bytes, more than a message can hold (%d bytes)", i, len(m), queue.MaxPayload))
		}
	}
	q, err := queue.Open(rest[0], &queue.Options{OnRecover: c.queueRecovered})
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer q.Close()
	printIDs := func(ids []queue.ID) {
		for _, id := range ids {
			if *asJSON {
				fmt.Fprintf(c.stdout, "{\"id\": %d}\n", id)
			} else {
				fmt.Fprintln(c.stdout, id)
			}
		}
	}
	if len(rest) > 1 {
		var ps [][]byte
		for _, m := range rest[1:] {
			ps = append(ps, []byte(m))
		}
		ids, err := q.PushBatch(c.ctx, ps)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		printIDs(ids)
		return exitOK
	}
	// Stdin is pushed as it arrives, a group of lines at a time, each
	// group durable before its IDs are printed (see readGroups).
	pushed := 0
	err = readGroups(c.ctx, c.stdin, func(group []stdinLine) error {
		batch := make([][]byte, len(group))
		for i, l := range group {
			batch[i] = l.text
		}
		ids, err := q.PushBatch(c.ctx, batch)
		if err != nil {
			return err
		}
		printIDs(ids)
		pushed += len(ids)
		return nil
	})
	switch {
	case err != nil && c.ctx.Err() != nil:
		return c.fail(fmt.Errorf("%w; the %d message(s) printed above are pushed, nothing after", c.interrupted(), pushed), *asJSON)
	case errors.Is(err, queue.ErrTooLarge):
		return c.usageError(fmt.Sprintf("%v; the %d message(s) printed above are pushed, nothing after", err, pushed))
	case err != nil:
		return c.fail(fmt.Errorf("%w; the %d message(s) printed above are pushed, nothing after", err, pushed), *asJSON)
	}
	return exitOK
}

func runQueuePop(c *cli, args []string) int {
	fs := c.flags()
	lease := fs.Duration("lease", 30*time.Second, "how long the message stays invisible to others")
	timeout := fs.Duration("timeout", 0, "give up (exit 7) after this `duration` without a message; 0 waits for ever")
	noWait := fs.Bool("no-wait", false, "exit 15 at once when no message is available")
	create := fs.Bool("create", false, "create the queue if DIR holds none (else exit 14)")
	maxAttempts := maxAttemptsFlag(fs)
	asJSON := fs.Bool("json", false, "print the message, or the error, as JSON")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("want a DIR")
	}
	if *lease <= 0 {
		return c.usageError("--lease must be positive")
	}
	q, err := c.openQueue(rest[0], *create, *maxAttempts)
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer q.Close()
	var m queue.Msg
	if *noWait {
		var ok bool
		m, ok, err = q.TryPop(c.ctx, *lease)
		if err == nil && !ok {
			return c.fail(withCode(exitEmpty, fmt.Errorf("%s has no message available; nothing was leased", rest[0])), *asJSON)
		}
	} else {
		ctx := c.ctx
		if *timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, *timeout)
			defer cancel()
		}
		m, err = q.Pop(ctx, *lease)
		switch {
		case err != nil && c.ctx.Err() != nil:
			err = fmt.Errorf("%w while waiting for a message in %s; nothing was leased", c.interrupted(), rest[0])
		case errors.Is(err, context.DeadlineExceeded):
			err = withCode(exitTimeout, fmt.Errorf("timed out after %v waiting for a message in %s; nothing was leased", *timeout, rest[0]))
		}
	}
	if err != nil {
		return c.fail(err, *asJSON)
	}
	if *asJSON {
		out := map[string]any{"id": m.ID, "receipt": m.Receipt().String(), "attempt": m.Attempt, "lease_until": m.LeaseUntil.UTC().Format(time.RFC3339Nano)}
		out["payload"], out["payload_encoding"] = payloadJSON(m.Payload)
		c.printJSON(out)
		return exitOK
	}
	fmt.Fprintf(c.stdout, "%s\t%s\n", m.Receipt(), m.Payload)
	return exitOK
}

// queueEach opens the queue in rest[0] and runs op on each receipt
// (parse is queue.ParseReceipt) or ID in rest[1:]. Ack, nack and extend
// take receipts: a bare ID names no lease, and acting on whichever lease
// is current could end another consumer's.
func queueEach[T fmt.Stringer](c *cli, rest []string, maxAttempts int, asJSON bool, did string, parse func(string) (T, error), op func(q *queue.Queue, x T) error) int {
	if len(rest) < 2 {
		if _, isReceipt := any(*new(T)).(queue.Receipt); isReceipt {
			return c.usageError("want a DIR and at least one RECEIPT (ID.ATTEMPT, as pop prints it)")
		}
		return c.usageError("want a DIR and at least one ID")
	}
	var xs []T
	for _, s := range rest[1:] {
		x, err := parse(s)
		if err != nil {
			return c.usageError(err.Error())
		}
		xs = append(xs, x)
	}
	q, err := c.openQueue(rest[0], false, maxAttempts)
	if err != nil {
		return c.fail(err, asJSON)
	}
	defer q.Close()
	for i, x := range xs {
		if err := op(q, x); err != nil {
			done := "nothing was changed"
			if i > 0 {
				done = fmt.Sprintf("the %d message(s) before it were done", i)
			}
			if c.ctx.Err() != nil {
				err = c.interrupted()
				done += fmt.Sprintf(", message %v may or may not be", x)
			}
			return c.fail(fmt.Errorf("message %v: %w; %s", x, err, done), asJSON)
		}
	}
	if asJSON {
		out := make([]any, len(xs))
		for i, x := range xs {
			out[i] = any(x)
			if r, ok := out[i].(queue.Receipt); ok {
				out[i] = r.String()
			}
		}
		c.printJSON(map[string]any{"dir": rest[0], did: out})
	}
	return exitOK
}

func runQueueAck(c *cli, args []string) int {
	fs := c.flags()
	asJSON := fs.Bool("json", false, "print {\"dir\", \"acked\": [receipts]}, or the error, as JSON")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	return queueEach(c, rest, 0, *asJSON, "acked", queue.ParseReceipt, func(q *queue.Queue, r queue.Receipt) error { return q.Ack(c.ctx, r) })
}

func runQueueNack(c *cli, args []string) int {
	fs := c.flags()
	delay := fs.Duration("delay", 0, "the message is available again after this `duration`")
	maxAttempts := maxAttemptsFlag(fs)
	asJSON := fs.Bool("json", false, "print {\"dir\", \"nacked\": [receipts]}, or the error, as JSON")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	return queueEach(c, rest, *maxAttempts, *asJSON, "nacked", queue.ParseReceipt, func(q *queue.Queue, r queue.Receipt) error { return q.Nack(c.ctx, r, *delay) })
}

func runQueueExtend(c *cli, args []string) int {
	fs := c.flags()
	lease := fs.Duration("lease", 30*time.Second, "the lease ends this `duration` from now")
	asJSON := fs.Bool("json", false, "print {\"dir\", \"extended\": [receipts]}, or the error, as JSON")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if *lease <= 0 {
		return c.usageError("--lease must be positive")
	}
	return queueEach(c, rest, 0, *asJSON, "extended", queue.ParseReceipt, func(q *queue.Queue, r queue.Receipt) error { return q.Extend(c.ctx, r, *lease) })
}

func runQueueLs(c *cli, args []string) int {
	fs := c.flags()
	asJSON := fs.Bool("json", false, "print the counts, or the error, as JSON")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("want a DIR")
	}
	q, err := c.openQueueReadOnly(rest[0])
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer q.Close()
	st, err := q.Stats()
	if err != nil {
		return c.fail(err, *asJSON)
	}
	if *asJSON {
		c.printJSON(map[string]int{"ready": st.Ready, "delayed": st.Delayed, "leased": st.Leased, "dead": st.Dead})
		return exitOK
	}
	fmt.Fprintf(c.stdout, "ready\t%d\ndelayed\t%d\nleased\t%d\ndead\t%d\n", st.Ready, st.Delayed, st.Leased, st.Dead)
	return exitOK
}

func runQueueDead(c *cli, args []string) int {
	fs := c.flags()
	asJSON := fs.Bool("json", false, "print the dead letters, or the error, as JSON")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		return c.usageError("want a DIR, or retry or purge and a DIR")
	}
	switch rest[0] {
	case "retry":
		return queueEach(c, rest[1:], 0, *asJSON, "retried", queue.ParseID, func(q *queue.Queue, id queue.ID) error { return q.Retry(c.ctx, id) })
	case "purge":
		if len(rest) < 2 {
			return c.usageError("want a DIR")
		}
		ids, err := parseIDs(rest[2:])
		if err != nil {
			return c.usageError(err.Error())
		}
		q, err := c.openQueue(rest[1], false, 0)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		defer q.Close()
		n, err := q.Purge(c.ctx, ids...)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		if *asJSON {
			c.printJSON(map[string]int{"purged": n})
		} else {
			fmt.Fprintf(c.stdout, "purged %d\n", n)
		}
		return exitOK
	}
	if len(rest) != 1 {
		return c.usageError("want one DIR")
	}
	q, err := c.openQueueReadOnly(rest[0])
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer q.Close()
	ds, err := q.Dead()
	if err != nil {
		return c.fail(err, *asJSON)
	}
	if *asJSON {
		type dead struct {
			ID       queue.ID `json:"id"`
			Attempts int      `json:"attempts"`
			Payload  string   `json:"payload"`
			Encoding string   `json:"payload_encoding"`
		}
		out := []dead{}
		for _, d := range ds {
			p, enc := payloadJSON(d.Payload)
			out = append(out, dead{d.ID, d.Attempts, p, enc})
		}
		c.printJSON(out)
		return exitOK
	}
	for _, d := range ds {
		fmt.Fprintf(c.stdout, "%d\t%d\t%s\n", d.ID, d.Attempts, d.Payload)
	}
	return exitOK
}

// maxAttemptsFlag adds --max-attempts to a verb that can make a dead
// letter.
func maxAttemptsFlag(fs *flag.FlagSet) *int {
	return fs.Int("max-attempts", queue.DefaultMaxAttempts, "deliveries a message gets before it becomes a dead letter (-1: unlimited)")
}

// openQueue opens the queue in dir. Only push, or a verb given --create,
// makes a new one: any other verb on a mistyped DIR would otherwise create
// an empty queue there and wait on it for ever.
func (c *cli) openQueue(dir string, create bool, maxAttempts int) (*queue.Queue, error) {
	if !create {
		if err := queueExists(dir); err != nil {
			return nil, err
		}
	}
	return queue.Open(dir, &queue.Options{MaxAttempts: maxAttempts, OnRecover: c.queueRecovered})
}

func (c *cli) openQueueReadOnly(dir string) (*queue.Queue, error) {
	if err := queueExists(dir); err != nil {
		return nil, err
	}
	return queue.Open(dir, &queue.Options{ReadOnly: true, OnRecover: c.queueRecovered})
}

// queueRecovered prints, on stderr whatever the output format, that the
// queue's state snapshot was damaged and the state rebuilt from its
// journal: nothing was lost, but something changed the directory.
func (c *cli) queueRecovered(err error) {
	fmt.Fprintf(c.stderr, "durable: warning: %v\n", err)
}

// queueExists reports exitNotFound unless dir is a directory with something
// in it: a queue's journal always has its first segment.
func queueExists(dir string) error {
	notFound := notFoundf("no queue in %s (queue push creates one; pop --create too)", dir)
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return notFound
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return notFoundf("%s is not a directory, so not a queue", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if names, _ := f.Readdirnames(1); len(names) == 0 {
		return notFound
	}
	return nil
}
