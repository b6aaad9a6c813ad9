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
		args:    "push|pop|ack|nack|ls|dead ...",
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
                                       lease a message: print "ID<TAB>payload"
  ack DIR ID...                        acknowledge: the message is gone for good
  nack [--delay D] DIR ID...           return the message (a dead letter after
                                       its last attempt)
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

Exit codes: 0 pushed; 2 usage error; 5 disk full; 1 any other failure.`, `printf 'job 1\njob 2\n' | durable queue push /var/spool/jobs`, runQueuePush},
		"pop": {"DIR", `Leases the oldest available message for --lease and prints its ID, a tab and
its payload (with --json: id, payload, attempt, lease_until). Until the lease
ends no one else gets it; ack it when done, or it is delivered again. Waits
for a message (at most --timeout, then exit 7); with --no-wait exits 15 at
once when the queue has none. On a DIR that holds no queue it exits 14,
unless --create. A message that has had --max-attempts deliveries (5) is not
delivered again but becomes a dead letter when its lease runs out.

Exit codes: 0 a message was leased; 2 usage error; 7 timed out (nothing was
leased); 14 no queue in DIR; 15 --no-wait and no message available.`, `durable queue pop --lease 10m --json /var/spool/jobs`, runQueuePop},
		"ack": {"DIR ID...", `Acknowledges messages: once this returns they are never delivered again.
A message acknowledged already, or never pushed, exits 14; so does a DIR
that holds no queue. IDs are handled in order: on a failure the message says
which were done.

Exit codes: 0 acknowledged; 2 usage error; 14 no such queue or message.`, `durable queue ack /var/spool/jobs 17`, runQueueAck},
		"nack": {"DIR ID...", `Returns leased messages to the queue, available again after --delay; a message
on its last attempt (--max-attempts, 5 by default) becomes a dead letter.

Exit codes: 0 returned; 2 usage error; 14 no such queue or message.`, `durable queue nack --delay 1m /var/spool/jobs 17`, runQueueNack},
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
	q, err := openQueue(rest[0], *create, *maxAttempts)
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
		out := map[string]any{"id": m.ID, "attempt": m.Attempt, "lease_until": m.LeaseUntil.UTC().Format(time.RFC3339Nano)}
		out["payload"], out["payload_encoding"] = payloadJSON(m.Payload)
		c.printJSON(out)
		return exitOK
	}
	fmt.Fprintf(c.stdout, "%d\t%s\n", m.ID, m.Payload)
	return exitOK
}

// queueEach opens the queue in rest[0] and runs op on each ID in rest[1:].
func queueEach(c *cli, rest []string, maxAttempts int, asJSON bool, did string, op func(q *queue.Queue, id queue.ID) error) int {
	if len(rest) < 2 {
		return c.usageError("want a DIR and at least one ID")
	}
	ids, err := parseIDs(rest[1:])
	if err != nil {
		return c.usageError(err.Error())
	}
	q, err := openQueue(rest[0], false, maxAttempts)
	if err != nil {
		return c.fail(err, asJSON)
	}
	defer q.Close()
	for i, id := range ids {
		if err := op(q, id); err != nil {
			done := "nothing was changed"
			if i > 0 {
				done = fmt.Sprintf("the %d message(s) before it were done", i)
			}
			if c.ctx.Err() != nil {
				err = c.interrupted()
				done += fmt.Sprintf(", message %v may or may not be", id)
			}
			return c.fail(fmt.Errorf("message %v: %w; %s", id, err, done), asJSON)
		}
	}
	if asJSON {
		c.printJSON(map[string]any{"dir": rest[0], did: ids})
	}
	return exitOK
}

func runQueueAck(c *cli, args []string) int {
	fs := c.flags()
	asJSON := fs.Bool("json", false, "print {\"dir\", \"acked\": [IDs]}, or the error, as JSON")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	return queueEach(c, rest, 0, *asJSON, "acked", func(q *queue.Queue, id queue.ID) error { return q.Ack(c.ctx, id) })
}

func runQueueNack(c *cli, args []string) int {
	fs := c.flags()
	delay := fs.Duration("delay", 0, "the message is available again after this `duration`")
	maxAttempts := maxAttemptsFlag(fs)
	asJSON := fs.Bool("json", false, "print {\"dir\", \"nacked\": [IDs]}, or the error, as JSON")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	return queueEach(c, rest, *maxAttempts, *asJSON, "nacked", func(q *queue.Queue, id queue.ID) error { return q.Nack(c.ctx, id, *delay) })
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
	q, err := openQueueReadOnly(rest[0])
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
		return queueEach(c, rest[1:], 0, *asJSON, "retried", func(q *queue.Queue, id queue.ID) error { return q.Retry(c.ctx, id) })
	case "purge":
		if len(rest) < 2 {
			return c.usageError("want a DIR")
		}
		ids, err := parseIDs(rest[2:])
		if err != nil {
			return c.usageError(err.Error())
		}
		q, err := openQueue(rest[1], false, 0)
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
	q, err := openQueueReadOnly(rest[0])
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
func openQueue(dir string, create bool, maxAttempts int) (*queue.Queue, error) {
	if !create {
		if err := queueExists(dir); err != nil {
			return nil, err
		}
	}
	return queue.Open(dir, &queue.Options{MaxAttempts: maxAttempts})
}

func openQueueReadOnly(dir string) (*queue.Queue, error) {
	if err := queueExists(dir); err != nil {
		return nil, err
	}
	return queue.Open(dir, &queue.Options{ReadOnly: true})
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
