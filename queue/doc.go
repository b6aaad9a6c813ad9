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
//  3. Durable. Push, Pop (the lease), Ack, Nack, Extend, Retry and Purge
//     return only after the fsync (fdatasync) that covers their record.
//     Concurrent operations of one process share the lock, one write and
//     one flush (group commit).
//  4. Isolated. A Pop picks a message and records its lease under the
//     directory's lock, after reading every other process's events, so no
//     message is leased twice at once.
//  5. Evident. Every record is checksummed (CRC-32C) by the journal it
//     lives in; damage is reported as durable.ErrCorrupt, never skipped.
//     Oversized payloads are refused before anything is written.
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
// queue shrinks to one segment (Options.SegmentSize). Payloads of live
// messages are kept in memory: size the backlog accordingly.
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
// A consumer whose lease ended may still Ack (its work is done), and may
// Nack or Extend the message even after another consumer leased it: leases
// carry no owner, so the worst outcome is one more delivery, never a loss.
// Ack may run a compaction, which rewrites the live messages. Over NFS the
// lock is only as good as the server's; NFS is not supported.
package queue
