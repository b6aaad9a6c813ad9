package main

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"time"
)

// messageSize is the size of one queued message.
const messageSize = 256

// queueWorkload is workload 4: one message pushed, popped under a lease and
// acknowledged, each step durable before the next. With one writer, one
// operation is the whole round trip; with producers (and as many
// consumers), producers push and consumers pop and acknowledge, and one
// operation is a consumer's pop and ack.
func queueWorkload(producers int, budget time.Duration, probe bool) Workload {
	cs := []Contender{{
		ID: "sqlite", Name: "SQLite queue (modernc, WAL, FULL)",
		Claim: sqliteClaim,
		Open:  func(dir string, _ int) (Instance, error) { return openSQLiteQueue(dir, producers) },
	}}
	if c, ok := queueHook(producers); ok {
		cs = append([]Contender{c}, cs...)
	}
	w := Workload{
		ID:     "queue-1w",
		Family: "queue",
		Title:  fmt.Sprintf("Queue: push, pop and ack of a %d-byte message, 1 writer", messageSize),
		What: "push, then pop with a lease, then ack: three durable steps " +
			"(for SQLite three transactions: INSERT; SELECT+UPDATE of the lease; DELETE)",
		Writers:    1,
		Budget:     budget,
		Probe:      probe,
		Contenders: cs,
	}
	if producers > 0 {
		w.ID = fmt.Sprintf("queue-%dp%dc", producers, producers)
		w.Title = fmt.Sprintf("Queue: %d producers and %d consumers, %d-byte messages", producers, producers, messageSize)
		w.What = "a consumer's pop with a lease and its ack, while the producers keep the queue fed " +
			"(push: INSERT; pop: SELECT+UPDATE of the lease; ack: DELETE; each its own transaction); " +
			"ops/s is messages through the queue per second"
		w.Writers, w.Producers = 2*producers, producers
	}
	return w
}

// leaseFor is how long a popped message stays invisible to other poppers.
const leaseFor = 30 * time.Second

// maxBacklog bounds the messages producers get ahead of consumers, as a
// real producer would be bounded; each contender gets the same bound.
const maxBacklog = 512

// backlog throttles producers: the same for every contender.
type backlog struct{ pushed, acked atomic.Int64 }

// full reports whether a producer should wait, after waiting a little.
func (b *backlog) full() bool {
	if b.pushed.Load()-b.acked.Load() < maxBacklog {
		return false
	}
	time.Sleep(100 * time.Microsecond)
	return true
}

// op is the operation of worker in a producers/consumers run: the first
// producers workers push (holding back while the backlog is full), the
// others consume one message (pop and ack it) each call.
func (b *backlog) op(producers int, push, consume func() error) func(worker int) error {
	return func(worker int) error {
		if worker < producers {
			if b.full() {
				return nil
			}
			b.pushed.Add(1)
			return push()
		}
		if err := consume(); err != nil {
			return err
		}
		b.acked.Add(1)
		return nil
	}
}

func openSQLiteQueue(dir string, producers int) (Instance, error) {
	db, err := openSQLite(filepath.Join(dir, "queue.db"))
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(sqliteQueueSchema); err != nil {
		db.Close()
		return nil, err
	}
	msg := payload(messageSize)
	push := func() error {
		_, err := db.Exec("INSERT INTO queue (body) VALUES (?)", msg)
		return err
	}
	pop := func() (int64, bool, error) { return sqlitePop(db) }
	ack := func(id int64) error {
		_, err := db.Exec("DELETE FROM queue WHERE id = ?", id)
		return err
	}
	if producers == 0 {
		return funcs{
			op: func(int) error {
				if err := push(); err != nil {
					return err
				}
				id, ok, err := pop()
				if err == nil && !ok {
					err = errors.New("sqlite queue: the message just pushed is not there")
				}
				if err != nil {
					return err
				}
				return ack(id)
			},
			close: db.Close,
		}, nil
	}
	var b backlog
	return funcs{
		op: b.op(producers, push, func() error {
			for {
				id, ok, err := pop()
				if err != nil {
					return err
				}
				if ok {
					return ack(id)
				}
				// Empty: SQLite cannot wait for a row, so poll.
				time.Sleep(200 * time.Microsecond)
			}
		}),
		close: db.Close,
	}, nil
}

// sqliteQueueSchema is the SQLite queue's one table.
const sqliteQueueSchema = `CREATE TABLE queue (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	body BLOB NOT NULL,
	lease_until INTEGER NOT NULL DEFAULT 0,
	tries INTEGER NOT NULL DEFAULT 0)`

// sqlitePop leases the oldest available message in one transaction
// (SELECT, then UPDATE of its lease); ok is false when there is none.
func sqlitePop(db *sql.DB) (id int64, ok bool, err error) {
	tx, err := db.Begin()
	if err != nil {
		return 0, false, err
	}
	now := time.Now()
	var body []byte
	err = tx.QueryRow("SELECT id, body FROM queue WHERE lease_until <= ? ORDER BY id LIMIT 1",
		now.UnixNano()).Scan(&id, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, tx.Rollback()
	}
	if err != nil {
		tx.Rollback()
		return 0, false, err
	}
	if _, err := tx.Exec("UPDATE queue SET lease_until = ?, tries = tries + 1 WHERE id = ?",
		now.Add(leaseFor).UnixNano(), id); err != nil {
		tx.Rollback()
		return 0, false, err
	}
	return id, true, tx.Commit()
}
