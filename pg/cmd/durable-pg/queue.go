package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/durable-go/durable/pg"
	"github.com/durable-go/durable/queue"
)

// A lease receipt on the command line is "ID:N", what pop prints in place
// of the ID: the message and its delivery.
func formatReceipt(l pg.Lease) string { return l.ID.String() + ":" + strconv.FormatInt(l.N, 10) }

func parseReceipt(s string) (pg.Lease, error) {
	id, n, ok := strings.Cut(s, ":")
	if !ok {
		return pg.Lease{}, fmt.Errorf("%q is not a lease receipt: give the ID:N that pop printed (a bare ID could acknowledge someone else's delivery)", s)
	}
	qid, err := queue.ParseID(id)
	if err != nil {
		return pg.Lease{}, err
	}
	num, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return pg.Lease{}, fmt.Errorf("%q is not a lease receipt", s)
	}
	return pg.Lease{ID: qid, N: num}, nil
}

func (c *cli) runQueue(args []string) int {
	if len(args) == 0 {
		return c.usageError("want a subcommand: push, pop, ack, nack, extend, ls or dead")
	}
	sub := args[0]
	var o dbOptions
	fs := c.flags("queue "+sub, &o)
	asJSON := fs.Bool("json", false, "print results, or the error, as JSON")
	lease := fs.Duration("lease", 30*time.Second, "pop, extend: how long the lease lasts")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait (for the server, and pop for a message)")
	noWait := fs.Bool("no-wait", false, "pop: exit 1 at once when no message is available")
	delay := fs.Duration("delay", 0, "nack: when the message is available again")
	rest, _, code, ok := parseArgs(fs, args[1:])
	if !ok {
		return code
	}
	if sub == "dead" && len(rest) > 0 && (rest[0] == "retry" || rest[0] == "purge") {
		sub, rest = "dead "+rest[0], rest[1:]
	}
	if len(rest) == 0 {
		return c.usageError("want URL#NAME")
	}
	t, err := parseTarget(rest[0])
	if err != nil {
		return c.fail(err, *asJSON)
	}
	rest = rest[1:]
	ctx, cancel := context.WithTimeout(c.ctx, *timeout)
	defer cancel()
	db, err := c.open(ctx, t, o)
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer db.Close()
	q, err := db.Queue(t.name, nil)
	if err != nil {
		return c.fail(err, *asJSON)
	}
	switch sub {
	case "push":
		payloads := make([][]byte, 0, len(rest))
		for _, m := range rest {
			payloads = append(payloads, []byte(m))
		}
		if len(rest) == 0 {
			sc := bufio.NewScanner(c.stdin)
			sc.Buffer(make([]byte, 64<<10), queue.MaxPayload+1)
			for sc.Scan() {
				payloads = append(payloads, append([]byte(nil), sc.Bytes()...))
			}
			if err := sc.Err(); err != nil {
				return c.fail(fmt.Errorf("reading stdin: %w (nothing was pushed)", err), *asJSON)
			}
		}
		ids, err := q.PushBatch(ctx, payloads)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		for _, id := range ids {
			if *asJSON {
				fmt.Fprintf(c.stdout, "{\"id\": %d}\n", id)
			} else {
				fmt.Fprintln(c.stdout, id)
			}
		}
	case "pop":
		var m pg.Msg
		if *noWait {
			var ok bool
			m, ok, err = q.TryPop(ctx, *lease)
			if err == nil && !ok {
				return c.fail(fmt.Errorf("queue %s: no message available", t.name), *asJSON)
			}
		} else {
			m, err = q.Pop(ctx, *lease)
		}
		if err != nil {
			return c.fail(err, *asJSON)
		}
		if *asJSON {
			b, _ := json.Marshal(map[string]any{"id": m.ID, "receipt": formatReceipt(m.Lease), "payload": string(m.Payload), "attempt": m.Attempt, "lease_until": m.LeaseUntil})
			fmt.Fprintln(c.stdout, string(b))
		} else {
			fmt.Fprintf(c.stdout, "%s\t%s\n", formatReceipt(m.Lease), m.Payload)
		}
	case "ack", "nack", "extend":
		if len(rest) == 0 {
			return c.usageError("want the lease receipts (ID:N) that pop printed")
		}
		code := exitOK
		for _, r := range rest {
			l, err := parseReceipt(r)
			if err != nil {
				return c.usageError(err.Error())
			}
			switch sub {
			case "ack":
				err = q.Ack(ctx, l)
			case "nack":
				err = q.Nack(ctx, l, *delay)
			default:
				var until time.Time
				if until, err = q.Extend(ctx, l, *lease); err == nil {
					fmt.Fprintf(c.stdout, "%s\t%s\n", r, until.Format(time.RFC3339Nano))
				}
			}
			if err != nil {
				code = c.fail(err, *asJSON)
			}
		}
		return code
	case "ls":
		s, err := q.Stats(ctx)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		if *asJSON {
			fmt.Fprintf(c.stdout, "{\"ready\": %d, \"delayed\": %d, \"leased\": %d, \"dead\": %d}\n", s.Ready, s.Delayed, s.Leased, s.Dead)
		} else {
			fmt.Fprintf(c.stdout, "ready %d\ndelayed %d\nleased %d\ndead %d\n", s.Ready, s.Delayed, s.Leased, s.Dead)
		}
	case "dead":
		dead, err := q.Dead(ctx)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		for _, d := range dead {
			if *asJSON {
				b, _ := json.Marshal(map[string]any{"id": d.ID, "attempts": d.Attempts, "payload": string(d.Payload)})
				fmt.Fprintln(c.stdout, string(b))
			} else {
				fmt.Fprintf(c.stdout, "%d\t%d\t%s\n", d.ID, d.Attempts, d.Payload)
			}
		}
	case "dead retry", "dead purge":
		var ids []queue.ID
		for _, s := range rest {
			id, err := queue.ParseID(s)
			if err != nil {
				return c.usageError(err.Error())
			}
			ids = append(ids, id)
		}
		if sub == "dead retry" {
			if len(ids) == 0 {
				return c.usageError("want the IDs of the dead letters to retry")
			}
			for _, id := range ids {
				if err := q.Retry(ctx, id); err != nil {
					return c.fail(err, *asJSON)
				}
			}
			return exitOK
		}
		n, err := q.Purge(ctx, ids...)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		fmt.Fprintf(c.stdout, "%d purged\n", n)
	default:
		return c.usageError(fmt.Sprintf("unknown subcommand %q", sub))
	}
	return exitOK
}
