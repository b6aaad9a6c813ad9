package pg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Changes travel as NOTIFY on one channel per schema, the payload naming
// what changed: "d:" and a document's name, "q:" and a queue's. They are
// hints: a listener that was disconnected tells every subscriber once it
// is back, as it may have missed some.

func (db *DB) channel() string { return "durable:" + shorten(db.name, 63-len("durable:")) }

// changeKey is the NOTIFY payload for an object: its kind and name, the
// name hashed when it is too long for a payload (8,000 bytes).
func changeKey(kind, name string) string { return kind + ":" + shorten(name, 1000) }

// shorten keeps s when it has at most n bytes, else names it by a hash.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	h := sha256.Sum256([]byte(s))
	return "#" + hex.EncodeToString(h[:12])
}

// notifySQL, run in the transaction that makes the change, tells the
// listeners when it commits (and not before, nor if it rolls back).
const notifySQL = "SELECT pg_notify($1, $2)"

// listener is the DB's one LISTEN connection.
type listener struct {
	db     *DB
	mu     sync.Mutex
	subs   map[string]map[chan struct{}]struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// subscribe returns a channel that receives (without blocking the
// listener: it holds one value at most) when key may have changed.
func (db *DB) subscribe(key string) (<-chan struct{}, func()) {
	db.lmu.Lock()
	if db.closed {
		db.lmu.Unlock()
		return nil, func() {} // nothing will change that this DB could hear
	}
	if db.ln == nil {
		ctx, cancel := context.WithCancel(context.Background())
		db.ln = &listener{db: db, subs: map[string]map[chan struct{}]struct{}{}, cancel: cancel, done: make(chan struct{})}
		go db.ln.run(ctx)
	}
	l := db.ln
	db.lmu.Unlock()
	ch := make(chan struct{}, 1)
	l.mu.Lock()
	if l.subs[key] == nil {
		l.subs[key] = map[chan struct{}]struct{}{}
	}
	l.subs[key][ch] = struct{}{}
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		delete(l.subs[key], ch)
		if len(l.subs[key]) == 0 {
			delete(l.subs, key)
		}
		l.mu.Unlock()
	}
}

func (l *listener) close() {
	l.cancel()
	<-l.done
}

func (l *listener) tell(key string, all bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, set := range l.subs {
		if !all && k != key {
			continue
		}
		for ch := range set {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

func (l *listener) run(ctx context.Context) {
	defer close(l.done)
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		_ = err // reconnect: the subscribers were told when it came back
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (l *listener) listen(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	conn, err := pgx.ConnectConfig(cctx, l.db.pool.Config().ConnConfig.Copy())
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.db.channel()}.Sanitize()); err != nil {
		return err
	}
	// Whatever happened while nobody listened: look again.
	l.tell("", true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.tell(n.Payload, false)
	}
}
