// Package pg keeps durable's documents, locks, OAuth tokens and queues in
// PostgreSQL, for programs that outgrow one machine: replicas of a service
// that share one OAuth login, a fleet that shares a configuration, workers
// on several hosts that drain one queue. A program changes its
// constructors, not its code:
//
//	db, err := pg.Open(ctx, "postgres:///app?host=/run/postgresql", nil)
//	settings, err := pg.OpenStore[Settings](db, "settings", nil) // a *store.Store[Settings]
//	held, err := db.Lock(ctx, "nightly-report")                   // a *lock.Held
//	ts, err := pg.NewTokenSource(ctx, db, cfg, "tokens", "github") // an *oauth.TokenSource
//	jobs, err := db.Queue("jobs", nil)
//
// # The promise, and how it differs from files
//
//  1. Atomic. Every change is one transaction: it is all there or not at
//     all, whatever crashes (the program, the server, the machine).
//  2. Durable. A call returns only once the server acknowledged its
//     commit. With synchronous_commit on (PostgreSQL's default) that means
//     the commit is flushed to the write-ahead log; Open checks every
//     connection and refuses a server or role with synchronous_commit=off
//     or fsync=off (ErrNotDurable) unless Options accept it by name. On a
//     replicated server, what survives a failover is what
//     synchronous_commit and synchronous_standby_names say; that is the
//     server's configuration, not this package's.
//  3. Isolated. A document's transactions are serialised by an advisory
//     lock held for the transaction; a queue's pops skip each other's
//     rows (FOR UPDATE SKIP LOCKED); locks are session advisory locks.
//     This holds across processes and machines.
//  4. Evident. A document that does not parse as its type is reported
//     (store.ErrCorrupt), never replaced by defaults.
//
// What differs from the file backend: there are no backups, modes or
// pre-migration copies (the database's own backups and access control
// stand in for them); a call can fail because the network or the server
// did, and then, as with any database, a commit whose acknowledgement was
// lost may or may not have happened: an Update that returned an error may
// have been applied. Every call is bounded by its context, and by
// DefaultTimeout when the context has none. A lock is held by a database
// session and is lost when that session ends (a broken connection, a
// server restart, pg_terminate_backend): the holder is told through
// lock.Held's Lost channel and Check, never silently, and must fence what
// it protects with Check where that matters. A file lock lives as long as
// the process.
//
// # Schema
//
// Open creates the schema (Options.Schema, DefaultSchema by default) and
// its tables on first use, records SchemaVersion in its meta table and
// migrates older tables in one transaction under an advisory lock;
// tables of a newer version are refused (ErrSchemaTooNew). Documents live
// in "documents" (name, data, revision), messages of every queue in
// "queue". Changes are announced with NOTIFY on the channel
// "durable:<schema>", which Store.Watch and waiting Pops listen to.
package pg
