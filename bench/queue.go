package main

import (
	"fmt"
	"path/filepath"
	"time"
)

// messageSize is the size of one queued message.
const messageSize = 256

// queueWorkload is workload 4: one message pushed, popped under a lease and
// acknowledged, each step durable before the next.
func queueWorkload(writers int, budget time.Duration, probe bool) Workload {
	cs := []Contender{{
		ID: "sqlite", Name: "SQLite queue (modernc, WAL, FULL)",
		Claim: sqliteClaim,
		Open:  openSQLiteQueue,
	}}
	if c, ok := queueHook(); ok {
		cs = append([]Contender{c}, cs...)
	}
	return Workload{
		ID:     fmt.Sprintf("queue-%dw", writers),
		Family: "queue",
		Title:  fmt.Sprintf("Queue: push, pop and ack of a %d-byte message, %s", messageSize, writersName(writers)),
		What: "push, then pop with a lease, then ack: three durable steps " +
			"(for SQLite three transactions: INSERT; SELECT+UPDATE of the lease; DELETE)",
		Writers:    writers,
		Budget:     budget,
		Probe:      probe,
		Contenders: cs,
	}
}

// leaseFor is how long a popped message stays invisible to other poppers.
const leaseFor = 30 * time.Second

func openSQLiteQueue(dir string, writers int) (Instance, error) {
	db, err := openSQLite(filepath.Join(dir, "queue.db"))
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(`CREATE TABLE queue (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		body BLOB NOT NULL,
		lease_until INTEGER NOT NULL DEFAULT 0,
		tries INTEGER NOT NULL DEFAULT 0)`); err != nil {
		db.Close()
		return nil, err
	}
	msg := payload(messageSize)
	return funcs{
		op: func(int) error {
			if _, err := db.Exec("INSERT INTO queue (body) VALUES (?)", msg); err != nil {
				return err
			}
			tx, err := db.Begin()
			if err != nil {
				return err
			}
			now := time.Now()
			var id int64
			var body []byte
			if err := tx.QueryRow("SELECT id, body FROM queue WHERE lease_until <= ? ORDER BY id LIMIT 1",
				now.UnixNano()).Scan(&id, &body); err != nil {
				tx.Rollback()
				return err
			}
			if _, err := tx.Exec("UPDATE queue SET lease_until = ?, tries = tries + 1 WHERE id = ?",
				now.Add(leaseFor).UnixNano(), id); err != nil {
				tx.Rollback()
				return err
			}
			if err := tx.Commit(); err != nil {
				return err
			}
			_, err = db.Exec("DELETE FROM queue WHERE id = ?", id)
			return err
		},
		close: db.Close,
	}, nil
}
