package pg

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durable-go/durable/queue"
)

// ErrLeaseLost: Ack, Nack or Extend was given the receipt of a lease that
// is no longer the message's: the lease ran out and another consumer
// popped the message since. The work done under the old lease must not be
// acknowledged: the new holder owns the message. It is the file queue's
// error, so code written for one backend tests for it unchanged (it wraps
// durable.ErrConflict).
var ErrLeaseLost = queue.ErrLeaseLost

// DefaultQueuePoll is how often a waiting Pop looks for messages whose
// delay or lease ran out; pushes wake it at once (LISTEN/NOTIFY).
const DefaultQueuePoll = 100 * time.Millisecond

// QueueOptions configure a Queue. Nil means the defaults.
type QueueOptions struct {
	// MaxAttempts is how many deliveries a message gets before it becomes
	// a dead letter (queue.DefaultMaxAttempts; negative: unlimited).
	MaxAttempts int
	// PollInterval is how often a waiting Pop looks for messages whose
	// delay or lease ended (DefaultQueuePoll).
	PollInterval time.Duration
}

// Queue is a work queue in the database, shared by producers and
// consumers on every machine: the queue package's semantics on a table.
// Push, Ack, Nack, Extend, Retry and Purge return once their commit is
// acknowledged, which Open made sure means flushed; concurrent Pushes, and
// concurrent Acks, of one Queue share one statement and one commit. Pop
// leases messages with SELECT … FOR UPDATE SKIP LOCKED, so consumers never
// wait for each other, and PopBatch leases up to n at once. Like the file
// queue's, a Pop's lease is not waited for to be flushed (see tryPop): a
// server crash can only make a message available early, which
// at-least-once delivery allows.
//
// Each delivery gets a lease receipt (Msg.Lease); Ack, Nack and Extend
// take it and refuse, with ErrLeaseLost, a receipt whose lease was
// followed by another delivery. So a consumer whose lease ran out can
// never acknowledge the next holder's delivery: a message is acknowledged
// exactly once, and never delivered again after its Ack.
type Queue struct {
	db   *DB
	name string
	o    QueueOptions

	pushes coalescer[pushReq, queue.ID] // concurrent Pushes, one INSERT
	acks   coalescer[Lease, struct{}]   // concurrent Acks, one DELETE
}

type pushReq struct {
	payload []byte
	delay   time.Duration
}

// Lease is a delivery's receipt.
type Lease struct {
	ID queue.ID
	N  int64 // a random token of this delivery: every Pop draws another
}

// Msg is a delivered message.
type Msg struct {
	ID      queue.ID
	Payload []byte
	// Attempt counts deliveries, this one included: 1 the first time.
	Attempt int
	// LeaseUntil is when the lease ends (by the server's clock) and the
	// message becomes available again unless acknowledged, nacked or
	// extended.
	LeaseUntil time.Time
	// Lease is the receipt for Ack, Nack and Extend.
	Lease Lease
}

// Queue returns the queue named name. It creates nothing: the table is
// shared by every queue of the schema.
func (db *DB) Queue(name string, opts *QueueOptions) (*Queue, error) {
	if name == "" {
		return nil, fmt.Errorf("pg: a queue needs a name")
	}
	q := &Queue{db: db, name: name}
	if opts != nil {
		q.o = *opts
	}
	if q.o.MaxAttempts == 0 {
		q.o.MaxAttempts = queue.DefaultMaxAttempts
	}
	if q.o.PollInterval <= 0 {
		q.o.PollInterval = DefaultQueuePoll
	}
	q.pushes.run = q.pushBatch
	q.acks.run = q.ackBatch
	return q, nil
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.name }

func (q *Queue) wrap(op string, err error) error {
	return fmt.Errorf("pg: queue %q (schema %s): %s: %w", q.name, q.db.name, op, err)
}

func (q *Queue) t() string { return q.db.table("queue") }

func seconds(d time.Duration) float64 { return d.Seconds() }

// maxAttempts is MaxAttempts for SQL: 0 for unlimited.
func (q *Queue) maxAttempts() int {
	if q.o.MaxAttempts < 0 {
		return 0
	}
	return q.o.MaxAttempts
}

// Push adds a message, durably, and returns its ID.
//
// Concurrent Pushes of one Queue share one INSERT and one commit.
func (q *Queue) Push(ctx context.Context, payload []byte) (queue.ID, error) {
	return q.PushAfter(ctx, payload, 0)
}

// PushAfter adds a message that becomes available only after delay.
func (q *Queue) PushAfter(ctx context.Context, payload []byte, delay time.Duration) (queue.ID, error) {
	if len(payload) > queue.MaxPayload {
		return 0, q.wrap("push", queue.ErrTooLarge)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return 0, q.wrap("push", err)
	}
	id, err := q.pushes.do(ctx, pushReq{payload, max(delay, 0)})
	if err != nil {
		return 0, q.wrap("push", err)
	}
	return id, nil
}

// pushBatch inserts the coalesced Pushes in one statement.
func (q *Queue) pushBatch(ctx context.Context, reqs []pushReq) ([]queue.ID, []error) {
	payloads := make([][]byte, len(reqs))
	delays := make([]float64, len(reqs))
	for i, r := range reqs {
		payloads[i], delays[i] = r.payload, seconds(r.delay)
	}
	ids, err := q.insert(ctx, payloads, delays)
	errs := make([]error, len(reqs))
	for i := range errs {
		errs[i] = err
	}
	return ids, errs
}

// PushBatch adds messages in one transaction: all of them or none.
func (q *Queue) PushBatch(ctx context.Context, payloads [][]byte) ([]queue.ID, error) {
	if len(payloads) == 0 {
		return nil, nil
	}
	for _, p := range payloads {
		if len(p) > queue.MaxPayload {
			return nil, q.wrap("push", queue.ErrTooLarge)
		}
	}
	ctx, cancel := withDefault(ctx)
	defer cancel()
	ids, err := q.insert(ctx, payloads, make([]float64, len(payloads)))
	if err != nil {
		return nil, q.wrap("push", err)
	}
	return ids, nil
}

// insert adds messages in one statement and one commit, and returns their
// IDs in the order of payloads: each is drawn before the insert and
// returned beside its position, so none is mistaken for another.
func (q *Queue) insert(ctx context.Context, payloads [][]byte, delays []float64) ([]queue.ID, error) {
	// One round trip: the batch runs as one implicit transaction.
	b := &pgx.Batch{}
	b.Queue(`WITH m AS MATERIALIZED (
	SELECT nextval(pg_get_serial_sequence($4, 'id')) AS id, p, d, i
	FROM unnest($2::bytea[], $3::float8[]) WITH ORDINALITY AS u(p, d, i)
), ins AS (
	INSERT INTO `+q.t()+` (id, queue, payload, visible_at)
	SELECT id, $1, p, now() + d * interval '1 second' FROM m
)
SELECT id FROM m ORDER BY i`, q.name, payloads, delays, q.t())
	b.Queue(notifySQL, q.db.channel(), changeKey("q", q.name))
	res := q.db.pool.SendBatch(ctx, b)
	rows, err := res.Query()
	var ids []queue.ID
	if err == nil {
		var id int64
		_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
			ids = append(ids, queue.ID(id))
			return nil
		})
	}
	err = finishBatch(res, 1, err)
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// TryPop leases the oldest available message for lease, if there is one.
func (q *Queue) TryPop(ctx context.Context, lease time.Duration) (Msg, bool, error) {
	msgs, err := q.tryPop(ctx, 1, lease)
	if err != nil || len(msgs) == 0 {
		return Msg{}, false, err
	}
	return msgs[0], true, nil
}

// Pop leases the oldest available message for lease, waiting until one is
// available or ctx is done.
func (q *Queue) Pop(ctx context.Context, lease time.Duration) (Msg, error) {
	msgs, err := q.PopBatch(ctx, 1, lease)
	if err != nil {
		return Msg{}, err
	}
	return msgs[0], nil
}

// PopBatch leases up to n available messages (oldest first) in one
// statement, waiting until at least one is available or ctx is done.
func (q *Queue) PopBatch(ctx context.Context, n int, lease time.Duration) ([]Msg, error) {
	if lease <= 0 {
		return nil, q.wrap("pop", errors.New("lease must be positive"))
	}
	if n <= 0 {
		return nil, q.wrap("pop", errors.New("batch size must be positive"))
	}
	if ctx == nil {
		ctx = context.Background()
	}
	var wake <-chan struct{}
	subscribed := false
	for {
		msgs, err := q.tryPop(ctx, n, lease)
		if err != nil || len(msgs) > 0 {
			return msgs, err
		}
		if !subscribed {
			// Subscribe, then look once more: a push in between is seen.
			sub, unsubscribe := q.db.subscribe(changeKey("q", q.name))
			defer unsubscribe()
			wake, subscribed = sub, true
			continue
		}
		t := time.NewTimer(q.o.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, q.wrap("pop", ctx.Err())
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}

func (q *Queue) tryPop(ctx context.Context, n int, lease time.Duration) ([]Msg, error) {
	if lease <= 0 {
		return nil, q.wrap("pop", errors.New("lease must be positive"))
	}
	ctx, cancel := withDefault(ctx)
	defer cancel()
	// The receipt is random, not a count: a lease lost in a server crash
	// (see below) must not come back as the next delivery's receipt.
	var rb [8]byte
	rand.Read(rb[:])
	base := int64(binary.LittleEndian.Uint64(rb[:]) >> 2)
	// A pop's commit is not waited for (synchronous_commit off for this
	// transaction only): a lease matters only while the server runs. A
	// crash of the server may lose the last leases, which makes those
	// messages available earlier than their leases said (at-least-once
	// allows it) and may give one more attempt than MaxAttempts. Every
	// later commit that is waited for (an Ack, a Push) flushes the write-ahead
	// log up to it, the leases before it included.
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SET LOCAL synchronous_commit = off")
	// Candidates that already had their last delivery become dead letters
	// (their lease ran out, or they were nacked at the limit before the
	// limit was lowered); the others are leased. Both in one statement.
	b.Queue(`
WITH c AS (
	SELECT id, attempts, row_number() OVER () AS rn FROM (
		SELECT id, attempts FROM `+q.t()+`
		WHERE queue = $1 AND NOT dead AND visible_at <= now()
		ORDER BY visible_at, id
		LIMIT $2
		FOR UPDATE SKIP LOCKED
	) s
), d AS (
	UPDATE `+q.t()+` m SET dead = true, leased = false
	FROM c WHERE m.id = c.id AND $4 > 0 AND c.attempts >= $4
)
UPDATE `+q.t()+` m
SET attempts = m.attempts + 1, lease = $5 + c.rn, leased = true,
	visible_at = now() + $3::float8 * interval '1 second'
FROM c WHERE m.id = c.id AND NOT ($4 > 0 AND c.attempts >= $4)
RETURNING m.id, m.payload, m.attempts, m.visible_at, m.lease`,
		q.name, n, seconds(lease), q.maxAttempts(), base)
	b.Queue("COMMIT")
	res := q.db.pool.SendBatch(ctx, b)
	var msgs []Msg
	_, err := res.Exec()
	if err == nil {
		_, err = res.Exec()
	}
	if err == nil {
		var rows pgx.Rows
		rows, err = res.Query()
		var m Msg
		var id int64
		if err == nil {
			_, err = pgx.ForEachRow(rows, []any{&id, &m.Payload, &m.Attempt, &m.LeaseUntil, &m.Lease.N}, func() error {
				m.ID = queue.ID(id)
				m.Lease.ID = m.ID
				msgs = append(msgs, m)
				m = Msg{}
				return nil
			})
		}
	}
	err = finishBatch(res, 1, err)
	if err != nil {
		return nil, q.wrap("pop", err)
	}
	// RETURNING comes in no particular order: oldest first.
	sortMsgs(msgs)
	return msgs, nil
}

func sortMsgs(m []Msg) {
	for i := 1; i < len(m); i++ {
		for j := i; j > 0 && m[j].ID < m[j-1].ID; j-- {
			m[j], m[j-1] = m[j-1], m[j]
		}
	}
}

// why explains why an operation on the lease l found no row to change.
func (q *Queue) why(ctx context.Context, op string, l Lease) error {
	var dead, leased, expired bool
	var n int64
	err := q.db.pool.QueryRow(ctx, "SELECT dead, leased, visible_at <= now(), lease FROM "+q.t()+" WHERE queue = $1 AND id = $2",
		q.name, int64(l.ID)).Scan(&dead, &leased, &expired, &n)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return q.wrap(op, fmt.Errorf("message %v: %w", l.ID, queue.ErrNotFound))
	case err != nil:
		return q.wrap(op, err)
	case n != l.N:
		return q.wrap(op, fmt.Errorf("message %v: %w", l.ID, ErrLeaseLost))
	case dead || !leased:
		return q.wrap(op, fmt.Errorf("message %v: %w", l.ID, queue.ErrNotLeased))
	case expired:
		return q.wrap(op, fmt.Errorf("message %v: %w", l.ID, queue.ErrLeaseExpired))
	}
	return q.wrap(op, fmt.Errorf("message %v: %w", l.ID, queue.ErrNotLeased))
}

// Ack removes a delivered message for good, durably: once Ack returns nil
// the message is never delivered again. Exactly one Ack of a delivery
// succeeds (later ones get queue.ErrNotFound). A consumer whose lease ran
// out may still Ack while nobody else has popped the message; after that,
// its receipt is refused with ErrLeaseLost.
//
// Concurrent Acks of one Queue share one DELETE and one commit.
func (q *Queue) Ack(ctx context.Context, l Lease) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return q.wrap("ack", err)
	}
	_, err := q.acks.do(ctx, l)
	if errors.Is(err, errNotAcked) {
		ctx, cancel := withDefault(ctx)
		defer cancel()
		return q.why(ctx, "ack", l)
	}
	if err != nil {
		return q.wrap("ack", err)
	}
	return nil
}

// errNotAcked marks a lease that a batch of Acks found no row for.
var errNotAcked = errors.New("not acknowledged")

// ackBatch deletes the coalesced Acks' messages in one statement.
func (q *Queue) ackBatch(ctx context.Context, ls []Lease) ([]struct{}, []error) {
	ids := make([]int64, len(ls))
	ns := make([]int64, len(ls))
	for i, l := range ls {
		ids[i], ns[i] = int64(l.ID), l.N
	}
	errs := make([]error, len(ls))
	rows, err := q.db.pool.Query(ctx, "DELETE FROM "+q.t()+" m USING unnest($2::bigint[], $3::bigint[]) AS r(id, lease) "+
		"WHERE m.queue = $1 AND m.id = r.id AND m.lease = r.lease AND m.leased AND NOT m.dead RETURNING m.id, m.lease", q.name, ids, ns)
	done := map[Lease]bool{}
	if err == nil {
		var id, n int64
		_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error {
			done[Lease{queue.ID(id), n}] = true
			return nil
		})
	}
	for i, l := range ls {
		switch {
		case err != nil:
			errs[i] = err
		case done[l]:
			delete(done, l) // the same receipt twice in a batch: one Ack succeeds
		default:
			errs[i] = errNotAcked
		}
	}
	return nil, errs
}

// Nack gives a delivered message back, available again after delay, or
// makes it a dead letter when it has had MaxAttempts deliveries.
func (q *Queue) Nack(ctx context.Context, l Lease, delay time.Duration) error {
	ctx, cancel := withDefault(ctx)
	defer cancel()
	delay = max(delay, 0)
	n, err := q.execNotify(ctx, "UPDATE "+q.t()+" SET leased = false, dead = ($4 > 0 AND attempts >= $4), visible_at = now() + $5::float8 * interval '1 second' "+
		"WHERE queue = $1 AND id = $2 AND lease = $3 AND leased AND NOT dead",
		q.name, int64(l.ID), l.N, q.maxAttempts(), seconds(delay))
	if err != nil {
		return q.wrap("nack", err)
	}
	if n == 1 {
		return nil
	}
	return q.why(ctx, "nack", l)
}

// Extend makes a running lease end lease from now. It fails with
// queue.ErrLeaseExpired once the lease is over, and ErrLeaseLost once the
// message was delivered again.
func (q *Queue) Extend(ctx context.Context, l Lease, lease time.Duration) (time.Time, error) {
	if lease <= 0 {
		return time.Time{}, q.wrap("extend", errors.New("lease must be positive"))
	}
	ctx, cancel := withDefault(ctx)
	defer cancel()
	var until time.Time
	err := q.db.pool.QueryRow(ctx, "UPDATE "+q.t()+" SET visible_at = now() + $4::float8 * interval '1 second' "+
		"WHERE queue = $1 AND id = $2 AND lease = $3 AND leased AND NOT dead AND visible_at > now() RETURNING visible_at",
		q.name, int64(l.ID), l.N, seconds(lease)).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, q.why(ctx, "extend", l)
	}
	if err != nil {
		return time.Time{}, q.wrap("extend", err)
	}
	return until, nil
}

// Dead lists the dead letters, oldest first.
func (q *Queue) Dead(ctx context.Context) ([]queue.DeadMsg, error) {
	ctx, cancel := withDefault(ctx)
	defer cancel()
	rows, err := q.db.pool.Query(ctx, "SELECT id, payload, attempts FROM "+q.t()+" WHERE queue = $1 AND dead ORDER BY id", q.name)
	if err != nil {
		return nil, q.wrap("dead", err)
	}
	var out []queue.DeadMsg
	var d queue.DeadMsg
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&id, &d.Payload, &d.Attempts}, func() error {
		d.ID = queue.ID(id)
		out = append(out, d)
		d = queue.DeadMsg{}
		return nil
	})
	if err != nil {
		return nil, q.wrap("dead", err)
	}
	return out, nil
}

// Retry makes a dead letter available again, its attempts reset.
func (q *Queue) Retry(ctx context.Context, id queue.ID) error {
	ctx, cancel := withDefault(ctx)
	defer cancel()
	n, err := q.execNotify(ctx, "UPDATE "+q.t()+" SET dead = false, leased = false, attempts = 0, visible_at = now() WHERE queue = $1 AND id = $2 AND dead", q.name, int64(id))
	if err != nil {
		return q.wrap("retry", err)
	}
	if n == 1 {
		return nil
	}
	return q.notDead(ctx, "retry", id)
}

// execNotify runs one statement and tells the listeners that the queue
// changed, in one round trip (one implicit transaction), and returns the
// number of rows the statement changed.
func (q *Queue) execNotify(ctx context.Context, sql string, args ...any) (int64, error) {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	b.Queue(notifySQL, q.db.channel(), changeKey("q", q.name))
	res := q.db.pool.SendBatch(ctx, b)
	tag, err := res.Exec()
	err = finishBatch(res, 1, err)
	return tag.RowsAffected(), err
}

func (q *Queue) notDead(ctx context.Context, op string, id queue.ID) error {
	var one int
	err := q.db.pool.QueryRow(ctx, "SELECT 1 FROM "+q.t()+" WHERE queue = $1 AND id = $2", q.name, int64(id)).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return q.wrap(op, fmt.Errorf("message %v: %w", id, queue.ErrNotFound))
	}
	if err != nil {
		return q.wrap(op, err)
	}
	return q.wrap(op, fmt.Errorf("message %v is not a dead letter: %w", id, queue.ErrNotLeased))
}

// Purge removes dead letters for good: the ones named, or all of them when
// none is, and returns how many. Nothing is removed when one of the named
// is not a dead letter.
func (q *Queue) Purge(ctx context.Context, ids ...queue.ID) (int, error) {
	ctx, cancel := withDefault(ctx)
	defer cancel()
	if len(ids) == 0 {
		tag, err := q.db.pool.Exec(ctx, "DELETE FROM "+q.t()+" WHERE queue = $1 AND dead", q.name)
		if err != nil {
			return 0, q.wrap("purge", err)
		}
		return int(tag.RowsAffected()), nil
	}
	raw := make([]int64, len(ids))
	for i, id := range ids {
		raw[i] = int64(id)
	}
	var n int
	err := pgx.BeginFunc(ctx, q.db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM "+q.t()+" WHERE queue = $1 AND dead AND id = ANY($2)", q.name, raw)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		if n == len(uniq(raw)) {
			return nil
		}
		var bad int64
		if err := tx.QueryRow(ctx, "SELECT u FROM unnest($2::bigint[]) u WHERE NOT EXISTS (SELECT 1 FROM "+q.t()+" WHERE queue = $1 AND id = u AND dead) LIMIT 1", q.name, raw).Scan(&bad); err != nil {
			return err
		}
		return errPurge(bad)
	})
	var pe errPurge
	if errors.As(err, &pe) {
		return 0, q.notDead(ctx, "purge", queue.ID(pe))
	}
	if err != nil {
		return 0, q.wrap("purge", err)
	}
	return n, nil
}

type errPurge int64

func (e errPurge) Error() string { return fmt.Sprintf("message %d is not a dead letter", int64(e)) }

func uniq(ids []int64) map[int64]bool {
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// Stats counts the queue's live messages.
func (q *Queue) Stats(ctx context.Context) (queue.Stats, error) {
	ctx, cancel := withDefault(ctx)
	defer cancel()
	var s queue.Stats
	err := q.db.pool.QueryRow(ctx, `SELECT
	count(*) FILTER (WHERE NOT dead AND visible_at <= now()),
	count(*) FILTER (WHERE NOT dead AND NOT leased AND visible_at > now()),
	count(*) FILTER (WHERE NOT dead AND leased AND visible_at > now()),
	count(*) FILTER (WHERE dead)
FROM `+q.t()+` WHERE queue = $1`, q.name).Scan(&s.Ready, &s.Delayed, &s.Leased, &s.Dead)
	if err != nil {
		return s, q.wrap("stats", err)
	}
	return s, nil
}
