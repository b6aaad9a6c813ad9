package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

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

Run 'durable queue SUBCOMMAND --help' for its flags.`,
		example: `echo "resize photo 42" | durable queue push /var/spool/jobs
line=$(durable queue pop --lease 5m /var/spool/jobs) && durable queue ack /var/spool/jobs "${line%%	*}"`,
		run: runQueue,
	}
}

type queueSub struct {
	args, about, example string
	run                  func(c *cli, args []string) int
}

func queueSubs() map[string]queueSub {
	return map[string]queueSub{
		"push": {"DIR [MSG...]", `Pushes each MSG, or each line of stdin when there are none, and prints each
message's ID once it is durable. Lines that arrive together share one write
and one flush.`, `printf 'job 1\njob 2\n' | durable queue push /var/spool/jobs`, runQueuePush},
		"pop": {"DIR", `Leases the oldest available message for --lease and prints the lease's
receipt (ID.ATTEMPT), a tab and its payload (with --json: id, receipt,
payload, attempt, lease_until). Until the lease ends no one else gets it; ack
it with the receipt when done, or it is delivered again. Waits
for a message (at most --timeout, then exit 7); with --no-wait exits 1 at
once when the queue has none.`, `durable queue pop --lease 10m --json /var/spool/jobs`, runQueuePop},
		"ack": {"DIR RECEIPT...", `Acknowledges messages by the receipt pop printed: once this returns they are
never delivered again. A message acknowledged already is an error (exit 1); a
receipt whose lease was lost, because the message was delivered again since,
is refused (exit 10).`, `durable queue ack /var/spool/jobs 17.1`, runQueueAck},
		"nack": {"DIR RECEIPT...", `Returns leased messages to the queue, available again after --delay; a message
on its last attempt becomes a dead letter. A receipt whose lease was lost is
refused (exit 10).`, `durable queue nack --delay 1m /var/spool/jobs 17.1`, runQueueNack},
		"extend": {"DIR RECEIPT...", `Makes the leases the receipts name end --lease from now. A lease that already
ended is an error (exit 1); one lost to another consumer is refused (exit 10).`, `durable queue extend --lease 10m /var/spool/jobs 17.1`, runQueueExtend},
		"ls": {"DIR", `Counts the live messages: ready (including expired leases), delayed, leased
and dead.`, `durable queue ls --json /var/spool/jobs`, runQueueLs},
		"dead": {"[retry|purge] DIR [ID...]", `Lists the dead letters (ID, attempts, payload); "dead retry DIR ID..." makes
them ready again with fresh attempts; "dead purge DIR [ID...]" removes them for
good (all of them when no ID is given).`, `durable queue dead purge /var/spool/jobs`, runQueueDead},
	}
}

func runQueue(c *cli, args []string) int {
	if len(args) == 0 {
		return c.usageError("want a subcommand: push, pop, ack, nack, extend, ls or dead")
	}
	name := args[0]
	if strings.HasPrefix(name, "-") || name == "help" {
		fs := c.flags()
		if name == "help" {
			args = []string{"--help"}
		}
		if _, code, ok := c.parse(fs, args); !ok {
			return code
		}
		return c.usageError("want a subcommand before the flags")
	}
	sub, ok := queueSubs()[name]
	if !ok {
		return c.usageError(fmt.Sprintf("unknown subcommand %q", name))
	}
	c.verb = verb{name: "queue " + name, args: sub.args, about: sub.about, example: sub.example}
	return sub.run(c, args[1:])
}

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
	q, err := queue.Open(rest[0], nil)
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
	r := bufio.NewReaderSize(c.stdin, 64<<10)
	for {
		var batch [][]byte
		var readErr error
		for len(batch) < 1024 {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				line = []byte(strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"))
				batch = append(batch, line)
			}
			if err != nil {
				readErr = err
				break
			}
			if r.Buffered() == 0 {
				break
			}
		}
		if len(batch) > 0 {
			ids, err := q.PushBatch(c.ctx, batch)
			if errors.Is(err, queue.ErrTooLarge) {
				return c.usageError(err.Error() + " (the IDs printed above are pushed)")
			}
			if err != nil {
				return c.fail(err, *asJSON)
			}
			printIDs(ids)
		}
		if errors.Is(readErr, io.EOF) {
			return exitOK
		}
		if readErr != nil {
			return c.fail(readErr, *asJSON)
		}
	}
}

func runQueuePop(c *cli, args []string) int {
	fs := c.flags()
	lease := fs.Duration("lease", 30*time.Second, "how long the message stays invisible to others")
	timeout := fs.Duration("timeout", 0, "give up (exit 7) after this `duration` without a message; 0 waits for ever")
	noWait := fs.Bool("no-wait", false, "exit 1 at once when no message is available")
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
	q, err := queue.Open(rest[0], nil)
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer q.Close()
	var m queue.Msg
	if *noWait {
		var ok bool
		m, ok, err = q.TryPop(c.ctx, *lease)
		if err == nil && !ok {
			return c.fail(errors.New("the queue has no message available"), *asJSON)
		}
	} else {
		ctx := c.ctx
		if *timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, *timeout)
			defer cancel()
		}
		m, err = q.Pop(ctx, *lease)
	}
	if err != nil {
		return c.fail(err, *asJSON)
	}
	if *asJSON {
		out := map[string]any{"id": m.ID, "receipt": m.Receipt().String(), "attempt": m.Attempt, "lease_until": m.LeaseUntil.UTC().Format(time.RFC3339Nano)}
		if utf8.Valid(m.Payload) {
			out["payload"] = string(m.Payload)
		} else {
			out["payload_base64"] = m.Payload
		}
		c.printJSON(out)
		return exitOK
	}
	fmt.Fprintf(c.stdout, "%s\t%s\n", m.Receipt(), m.Payload)
	return exitOK
}

// queueReceipts opens the queue in rest[0] and runs op on each receipt in
// rest[1:]. A bare ID is refused: it names no lease, and acting on
// whichever lease is current could end another consumer's.
func queueReceipts(c *cli, rest []string, op func(q *queue.Queue, r queue.Receipt) error) int {
	if len(rest) < 2 {
		return c.usageError("want a DIR and at least one RECEIPT (ID.ATTEMPT, as pop prints it)")
	}
	var rs []queue.Receipt
	for _, s := range rest[1:] {
		r, err := queue.ParseReceipt(s)
		if err != nil {
			return c.usageError(err.Error())
		}
		rs = append(rs, r)
	}
	q, err := queue.Open(rest[0], nil)
	if err != nil {
		return c.fail(err, false)
	}
	defer q.Close()
	for _, r := range rs {
		if err := op(q, r); err != nil {
			return c.fail(fmt.Errorf("receipt %v: %w", r, err), false)
		}
	}
	return exitOK
}

// queueEach opens the queue in rest[0] and runs op on each ID in rest[1:].
func queueEach(c *cli, rest []string, op func(q *queue.Queue, id queue.ID) error) int {
	if len(rest) < 2 {
		return c.usageError("want a DIR and at least one ID")
	}
	ids, err := parseIDs(rest[1:])
	if err != nil {
		return c.usageError(err.Error())
	}
	q, err := queue.Open(rest[0], nil)
	if err != nil {
		return c.fail(err, false)
	}
	defer q.Close()
	for _, id := range ids {
		if err := op(q, id); err != nil {
			return c.fail(fmt.Errorf("message %v: %w", id, err), false)
		}
	}
	return exitOK
}

func runQueueAck(c *cli, args []string) int {
	rest, code, ok := c.parse(c.flags(), args)
	if !ok {
		return code
	}
	return queueReceipts(c, rest, func(q *queue.Queue, r queue.Receipt) error { return q.Ack(c.ctx, r) })
}

func runQueueNack(c *cli, args []string) int {
	fs := c.flags()
	delay := fs.Duration("delay", 0, "the message is available again after this `duration`")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	return queueReceipts(c, rest, func(q *queue.Queue, r queue.Receipt) error { return q.Nack(c.ctx, r, *delay) })
}

func runQueueExtend(c *cli, args []string) int {
	fs := c.flags()
	lease := fs.Duration("lease", 30*time.Second, "the lease ends this `duration` from now")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if *lease <= 0 {
		return c.usageError("--lease must be positive")
	}
	return queueReceipts(c, rest, func(q *queue.Queue, r queue.Receipt) error { return q.Extend(c.ctx, r, *lease) })
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
	q, err := queue.Open(rest[0], &queue.Options{ReadOnly: true})
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
		return queueEach(c, rest[1:], func(q *queue.Queue, id queue.ID) error { return q.Retry(c.ctx, id) })
	case "purge":
		if len(rest) < 2 {
			return c.usageError("want a DIR")
		}
		ids, err := parseIDs(rest[2:])
		if err != nil {
			return c.usageError(err.Error())
		}
		q, err := queue.Open(rest[1], nil)
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
	q, err := queue.Open(rest[0], &queue.Options{ReadOnly: true})
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
		}
		out := []dead{}
		for _, d := range ds {
			out = append(out, dead{d.ID, d.Attempts, string(d.Payload)})
		}
		c.printJSON(out)
		return exitOK
	}
	for _, d := range ds {
		fmt.Fprintf(c.stdout, "%d\t%d\t%s\n", d.ID, d.Attempts, d.Payload)
	}
	return exitOK
}
