// Package queue is a persistent work queue: producers push messages,
// consumers pop them under a lease and acknowledge them when done. Several
// producer and consumer processes may share one directory. It keeps
// durable's promise:
//
//  1. At-least-once delivery. A message whose Push returned is never lost:
//     it is delivered until it is acknowledged, or becomes a dead letter
//     after Options.MaxAttempts deliveries. A consumer that dies, is
//     killed, or loses power mid-job loses nothing: its lease ends and the
//     message is delivered again.
//  2. Exactly-once acknowledgement. An acknowledged message is never
//     delivered again, by any process, after any crash: Ack returns only
//     once the acknowledgement is durable, and exactly one Ack of a message
//     succeeds.
//  3. Durable. Push, Ack, Nack, Extend, Retry and Purge return only after
//     the fsync (fdatasync) that covers their record. Concurrent
//     operations of one process share the lock, one write and one flush
//     (group commit); processes share flushes too: while other processes
//     append, a batch is written under the lock and flushed after it is
//     let go, and one flush covers every batch written before it began,
//     whoever wrote it (journal.Journal.WithLockShared); the Acks of
//     messages a batch handed out that come while the lock is still
//     held are written after it as a second batch that the same flush
//     covers, rather than wait for the process's next turn. Pop's lease is
//     written under the lock but not flushed; see "Leases and power cuts"
//     for why that is enough.
//  4. Isolated. A Pop picks a message and records its lease under the
//     directory's lock, after reading every other process's events, so no
//     message is leased twice at once.
//  5. Evident. Every record is checksummed (CRC-32C) by the journal it
//     lives in; damage is reported as durable.ErrCorrupt, never skipped.
//     Oversized payloads are refused before anything is written. A
//     damaged state snapshot is never trusted (see Design).
//
// # Design
//
// The queue is a journal (package journal) of events: push, lease, ack,
// nack, extend, dead, retry, purge and move; FORMAT.md describes them. Open
// rebuilds the state by replaying the journal; every decision (Pop, Ack,
// Nack, ...) is taken inside journal.Update, which holds the directory's lock,
// catches up with the other processes' events and appends the new ones. A
// message's ID is the index of its push record and never changes. Space is
// reclaimed by compaction: once enough records accumulated and few
// messages are live, the live ones are rewritten at the end of the journal
// (move events, same IDs) and the segments below are dropped, so a drained
// queue shrinks to one segment (Options.SegmentSize).
//
// Payloads stay in the journal: the state holds 32 bytes per live message
// (where its payload is, its state, lease and attempts), and a payload is
// read from its record when the message is delivered, with a bounded
// read-ahead of the next ones. Writers keep a state snapshot
// (SnapshotName, FORMAT.md "State snapshot") at every compaction that
// drops records and every max(CompactRecords, live/32) records (processes
// that share the directory count each other's, so they do not each keep
// one, nor each compact); Open loads it and replays
// only the records after it, so opening a queue of a million pending
// messages costs about a 1 MB read and 32 MB of memory, not a replay of
// the backlog. The snapshot is trusted only when the journal confirms it
// (the record it ends with is there, with the same checksum); otherwise
// the state is rebuilt from the journal, which is always the truth, and
// damage is reported to Options.OnRecover and kept as evidence.
//
// # Leases and power cuts
//
// A lease matters only among live processes: it keeps other consumers
// away while its holder works. Pop writes it under the directory's lock,
// so every process sees it from then on (and it survives the holder's
// crash, kill -9 included: it is in the kernel's page cache), but returns
// without waiting for a flush. After a power cut every consumer is dead,
// so no lease needs to outlive it; a lease that a cut loses only makes the
// message available again, earlier than its lease said, which
// at-least-once delivery allows. What the promise needs still holds:
//
//   - A flush covers every byte written to the segment before it, by any
//     process, and a segment is flushed before the next one is used. So
//     an Ack, Nack or Extend, which is flushed, makes the lease before it
//     durable too: an acknowledged message never comes back, and a
//     message is never acknowledged by a record that outlives its lease.
//   - Push, Ack, Nack, Extend, Retry and Purge are flushed as before; the
//     next one, in any process, flushes the leases written before it.
//   - The journal never leaves two unflushed batches in a row: a batch
//     written after an unflushed one is flushed, and says so in its commit
//     frame, so a power cut leaves at most those two torn, which recovery
//     cuts (see journal.Tx.AppendUnflushed and journal/FORMAT.md, "Recovery").
//
// The cost is in the count of attempts, which the lease records carry. A
// delivery whose lease a power cut lost is not counted: the message is
// delivered again with the same Attempt, and a message can be delivered
// more than MaxAttempts times in all if power cuts (or kernel crashes)
// keep striking while it is leased and before anything else is flushed.
// A dead event written by Pop (a lease that expired on the last attempt)
// can be lost the same way and is simply written again by the next Pop.
// Nothing acknowledged is lost and nothing acknowledged comes back.
//
// Pops therefore never wait for a flush of their own. A flushed batch
// takes the pops waiting when it starts into its write and lets them go
// once it is written, before its flush; right after the flush, still
// under the lock, it writes the pops that arrived meanwhile (when other
// processes append, its flush runs after the lock and those pops take the
// next turn). A Pop waits for at most the flush in progress, and for a
// flush of other processes' records it read, when nobody is known to
// have flushed them yet.
//
// A flush shared with other processes that fails cannot be undone, as a
// failed write is: they may have written after the batch. The operations
// it was to cover return the error, their records stay written (a later
// flush, by any process, may make them durable, so a Push that failed so
// may still be delivered, and an Ack that failed so may still take
// effect, as when a reply is lost), and the handle refuses writes until
// the queue is opened again. Every operation waits at most until
// its own context ends, whoever leads its batch: one that gives up before
// its batch is written is not written, and fails nobody else. And because consumers usually Ack
// soon after they Pop, a flushed batch waits a moment, at most one flush,
// for the Acks due from this process's fast consumers (gather.go).
//
// # Order
//
// Pop delivers the available message with the smallest ID. The first
// deliveries of one producer's messages therefore come in push order;
// messages that were nacked or whose lease expired come before younger
// ones once they are available again.
//
// # Clocks
//
// Leases and delays are wall-clock instants (Options.Now, time.Now by
// default), written into the lease record and compared with the clock of
// whichever process looks. Processes that share a queue must share a clock
// (one machine, or well-synchronised ones); a clock that jumps forward ends
// leases early (the message may be delivered twice, never lost), one that
// jumps back lengthens them.
//
// # Limits
//
// Ack, Nack and Extend take the Receipt that Pop handed out (Msg.Receipt:
// the message and the delivery's attempt number) and act only on the lease
// it names. A consumer whose lease ended may still Ack (its work is done)
// until the message is delivered again; from then on its receipt is stale
// and every one of the three is refused with ErrLeaseLost, so it cannot end
// or shorten the new holder's lease. A message dead-lettered and retried
// counts its attempts from 1 again, so a receipt from before a Retry can
// match a lease after it. Ack may run a compaction, which rewrites the live messages. Over NFS the
// lock is only as good as the server's; NFS is not supported.
package queue
