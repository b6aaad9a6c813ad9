package pg

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durable-go/durable/lock"
)

// Locks are PostgreSQL session advisory locks, each held by a connection
// of its own (from a pool kept apart from the DB's, so that held locks
// never starve queries). The server releases a lock when its session
// ends, so a holder whose process dies frees the lock at once; but a
// holder whose connection breaks loses the lock while its process goes on.
// It is told: the connection is watched while the lock is held, Lost is
// closed the moment the server ends the session, and Check asks the
// server. Fence what the lock protects with Check when the act cannot be
// undone.

// Back-off between attempts while waiting, as in package lock.
const (
	minBackoff = time.Millisecond
	maxBackoff = 50 * time.Millisecond
)

// Lock takes an exclusive lock on name, shared by every process on every
// machine that uses this schema, waiting until it is free, ctx is done, or
// lock.DefaultTimeout passes if ctx has no deadline. The *lock.Held is
// package lock's: Unlock releases it, Lost and Check tell whether it was
// lost. When the wait runs out, the error wraps lock.ErrLocked and the
// context's error.
func (db *DB) Lock(ctx context.Context, name string) (*lock.Held, error) {
	return db.acquire(ctx, "lock", name, true, false)
}

// RLock takes a shared lock on name; it waits like Lock.
func (db *DB) RLock(ctx context.Context, name string) (*lock.Held, error) {
	return db.acquire(ctx, "rlock", name, false, false)
}

// TryLock takes an exclusive lock on name if it is free now, and otherwise
// fails at once with an error wrapping lock.ErrLocked. ctx bounds the
// round trip to the server.
func (db *DB) TryLock(ctx context.Context, name string) (*lock.Held, error) {
	return db.acquire(ctx, "trylock", name, true, true)
}

// TryRLock takes a shared lock on name unless an exclusive holder has it
// now; otherwise it fails at once with an error wrapping lock.ErrLocked.
func (db *DB) TryRLock(ctx context.Context, name string) (*lock.Held, error) {
	return db.acquire(ctx, "tryrlock", name, false, true)
}

// LockKey is the advisory lock key of name in this schema, for programs
// that want to take the same lock in SQL: pg_advisory_lock(key).
func (db *DB) LockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(db.name))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// maxIdleLockConns is how many lock sessions are kept for the next Lock.
const maxIdleLockConns = 16

// lockConn returns a session for a lock: an idle one, or a new one. They
// are kept apart from the pool, whose Close would wait for every held
// lock, and whose size must not bound how many locks are held.
func (db *DB) lockConn(ctx context.Context) (c *pgx.Conn, reused bool, err error) {
	db.lmu.Lock()
	for n := len(db.idle); n > 0; n = len(db.idle) {
		c := db.idle[n-1]
		db.idle = db.idle[:n-1]
		if !c.IsClosed() {
			db.lmu.Unlock()
			return c, true, nil
		}
	}
	db.lmu.Unlock()
	c, err = pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, false, db.classify("connect", err)
	}
	return c, false, nil
}

// putConn keeps a session that holds no lock for the next one.
func (db *DB) putConn(c *pgx.Conn) {
	db.lmu.Lock()
	if !db.closed && len(db.idle) < maxIdleLockConns && !c.IsClosed() {
		db.idle = append(db.idle, c)
		c = nil
	}
	db.lmu.Unlock()
	if c != nil {
		dropConn(c)
	}
}

// dropConn ends a session, and with it any lock it may hold.
func dropConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.Close(ctx)
}

func (db *DB) acquire(ctx context.Context, op, name string, exclusive, try bool) (*lock.Held, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	parent := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lock.DefaultTimeout)
		defer cancel()
	}
	what := fmt.Sprintf("pg: %s %q (schema %s on %s)", op, name, db.name, db.where)
	conn, reused, err := db.lockConn(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	key := db.LockKey(name)
	sql := "SELECT pg_try_advisory_lock($1)"
	if !exclusive {
		sql = "SELECT pg_try_advisory_lock_shared($1)"
	}
	for wait := minBackoff; ; wait = min(2*wait, maxBackoff) {
		var ok bool
		if err := conn.QueryRow(ctx, sql, key).Scan(&ok); err != nil {
			// The answer may have been lost with the connection, the
			// lock taken: only closing the session is sure to drop it.
			dropConn(conn)
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", what, waitError(parent, ctx))
			}
			if reused {
				// An idle session may have died with a server restart:
				// a new one says whether the server is there.
				if conn, reused, err = db.lockConn(ctx); err != nil {
					return nil, fmt.Errorf("%s: %w", what, err)
				}
				continue
			}
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			break
		}
		if try {
			db.putConn(conn)
			return nil, fmt.Errorf("%s: %w", what, lock.ErrLocked)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			db.putConn(conn)
			return nil, fmt.Errorf("%s: %w", what, waitError(parent, ctx))
		case <-t.C:
		}
	}
	r := &remote{db: db, conn: conn, key: key, exclusive: exclusive, lost: make(chan struct{})}
	r.watch()
	return lock.Adopt(what, r), nil
}

// waitError is package lock's: a wait that ran out of time is ErrLocked
// (and the deadline), a cancelled one the cancellation.
func waitError(parent, ctx context.Context) error {
	if parent.Err() == context.Canceled {
		return context.Canceled
	}
	return errors.Join(lock.ErrLocked, context.DeadlineExceeded)
}

// remote is one held advisory lock: lock.Remote.
type remote struct {
	mu        sync.Mutex // serialises use of conn: the watch, Check, Release
	conn      *pgx.Conn
	db        *DB
	key       int64
	exclusive bool
	released  bool

	lost     chan struct{}
	lostOnce sync.Once

	stop    context.CancelFunc // ends the watch
	watched chan struct{}      // closed when the watch ended
}

func (r *remote) Lost() <-chan struct{} { return r.lost }

func (r *remote) markLost() { r.lostOnce.Do(func() { close(r.lost) }) }

func (r *remote) isLost() bool {
	select {
	case <-r.lost:
		return true
	default:
		return false
	}
}

// watch reads from the idle connection, which returns the moment the
// server ends the session (pg_terminate_backend, a restart) or the
// connection breaks. The caller holds mu, or has not shared r yet.
func (r *remote) watch() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r.stop, r.watched = cancel, done
	go func() {
		defer close(done)
		err := r.conn.PgConn().WaitForNotification(ctx)
		if ctx.Err() == nil && err != nil {
			r.markLost()
		}
	}()
}

// pause ends the watch so that mu's holder may use the connection.
func (r *remote) pause() {
	r.stop()
	<-r.watched
}

func (r *remote) Check(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released {
		return lock.ErrClosed
	}
	if r.isLost() {
		return lock.ErrLost
	}
	ctx, cancel := withDefault(ctx)
	defer cancel()
	r.pause()
	var held bool
	err := r.conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1)", r.key).Scan(&held)
	if err != nil || !held {
		// Unsure is lost: the holder must not act on it.
		r.markLost()
		if err != nil {
			return errors.Join(lock.ErrLost, err)
		}
		return lock.ErrLost
	}
	r.watch()
	return nil
}

func (r *remote) Release() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released {
		return lock.ErrClosed
	}
	r.released = true
	r.pause()
	if r.isLost() {
		dropConn(r.conn)
		return lock.ErrLost
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	sql := "SELECT pg_advisory_unlock($1)"
	if !r.exclusive {
		sql = "SELECT pg_advisory_unlock_shared($1)"
	}
	var ok bool
	if err := r.conn.QueryRow(ctx, sql, r.key).Scan(&ok); err != nil || !ok {
		// Closing the session releases whatever it still holds.
		dropConn(r.conn)
		r.markLost()
		if err != nil {
			return errors.Join(lock.ErrLost, err)
		}
		return lock.ErrLost
	}
	r.db.putConn(r.conn)
	return nil
}
