// Package journal is a crash-safe, tamper-evident, append-only log: audit
// logs, event histories, transcripts. It keeps durable's promise:
//
//  1. Atomic. A crash, kill -9, power loss or full disk at any moment leaves
//     the log with every acknowledged record intact and at most the last,
//     unacknowledged batch missing or cut. A torn record is never returned.
//  2. Durable. Append returns only after the write and the flush (fdatasync)
//     that covers the record have returned. No record is acknowledged by a
//     flush that began before it was written.
//  3. Isolated. Goroutines and processes may append to one directory at the
//     same time: a lock on the file "journal.lock" in it serialises the
//     writers, and the write and the flush both happen while it is held.
//     Every index is handed out once. Readers need no lock and see only
//     records whose batch is committed.
//  4. Evident. Every frame and header is checksummed (CRC-32C); damage is
//     reported with the file and the byte offset, never skipped. The records
//     are the leaves of an RFC 6962 Merkle tree whose signed checkpoints make
//     tampering evident (see below).
//  5. Nothing lost on bad input. An oversized record, a cancelled context or a
//     closed journal is refused before anything is written.
//
// # Speed
//
// Concurrent appends share one write and one flush (group commit): the
// first caller leads a batch, callers that arrive while it is written form
// the next batch, which is written as soon as the first is durable, so no
// caller waits for more than two flushes, and none longer than its own
// context allows, whoever leads its batch (one that gives up before its
// batch is written is not written). A panic in a WithLock or Update
// function is raised in its caller's goroutine and leaves the journal
// usable; an append, Update or WithLock of the journal from inside one
// fails with durable.ErrReentrant instead of waiting for itself. WithLock
// lets a writer append, under the lock, batches that are written but not
// flushed (Tx.AppendUnflushed), for records whose loss in a power cut
// costs only a repetition; the next flush of the segment, by any process,
// covers them, and a batch is never written unflushed after another
// unflushed one. Processes that append to one journal at the same time
// share flushes too: each writes its batch under the lock and lets it go
// before flushing, under a second lock (or alongside the flush that holds
// it), unless a flush that another process started after the batch was
// written already covers it (FORMAT.md, "The marks"); a reader in another process may see a batch
// before it is flushed, as it may see any batch before its writer
// acknowledges it. WithLockShared does the same for a writer under the
// lock: its AppendFlushed is made durable by a shared flush after the lock
// is let go, before WithLockShared returns. Segment space is allocated ahead (fallocate on Linux), in
// steps (64 KiB, then 16 times more each time) up to Options.SegmentSize,
// and made durable, file and directory, before it is used, so that an
// append costs a data flush of bytes inside the file's size, not a
// metadata commit, and a log of a few records takes a few kilobytes of
// disk, not a whole segment.
//
// # Recovery
//
// Open (and every writer that takes the lock after another process died)
// recovers: bytes after the last commit frame that a crash left (a torn or
// partly zeroed last batch) are copied durably to the directory "evidence",
// overwritten with zeros, and a TypeNote record says what was cut. Only
// what a crash can leave is cut: damage in a batch whose other frames are
// intact that no lost sector or cut-short write explains (one changed
// byte), and anything the stored checkpoint covers, are corruption. Damage
// anywhere else (a bad frame before the last commit, a bad header, a
// missing segment) is refused too, with an error wrapping ErrCorrupt,
// naming the file and offset, and nothing is cut. Nothing is ever appended
// after garbage. Recovery is idempotent: a crash during it
// and a second recovery give the same log.
//
// # Tamper evidence, and its limits
//
// Each record is a leaf of an RFC 6962 Merkle tree (SHA-256). The leaf
// covers the record's index, time, type and payload (see Record.LeafData),
// so altering, removing, reordering or inserting a record changes the root.
// Every commit frame holds the root after its batch, and every segment
// header the tree's compact state at its start, so the files check
// themselves. Checkpoint signs the size and root as a C2SP signed note with
// an Ed25519 key (golang.org/x/mod/sumdb/note) and stores it; Verify checks
// the log against it; InclusionProof and ConsistencyProof prove a record's
// presence and the log's append-only growth to anyone holding a checkpoint.
//
// What each defence catches, against an attacker who can write the
// directory:
//
//   - With no checkpoint, only clumsy changes: a flipped byte (ErrCorrupt), a
//     changed record whose checksums were fixed but not the roots, records
//     moved without renumbering, a segment from another log (ErrTampered).
//     Someone who recomputes checksums, roots and headers — the format is
//     public — can rewrite or truncate the log unnoticed.
//   - With a checkpoint signed by a key the attacker does not hold, any
//     change to the records it covers and any truncation below it
//     (ErrTampered). Records appended after the last checkpoint are not
//     covered until the next one: checkpoint often.
//   - An attacker who holds the signing key can rewrite the whole directory
//     and sign a new checkpoint for it, or roll the log and the stored
//     checkpoint back together. A checkpoint remembered elsewhere
//     (VerifyOptions.Remembered) catches that, and so do witnesses: each
//     checkpoint is pushed to the configured witnesses (AddWitness, C2SP
//     tlog-witness), which cosign only a tree consistent with the ones
//     they cosigned before; Verify with VerifyOptions.Witnesses requires a
//     quorum of their cosignatures, so a rewritten or truncated log
//     re-signed with the key, or a fork shown to different witnesses, is
//     ErrTampered. WitnessServer is such a witness, and TilesHandler
//     serves the log as C2SP tlog-tiles for anyone to check.
//   - The key holder never signs two inconsistent trees by mistake:
//     CheckpointWith remembers the largest tree it signed (in the
//     directory and in CheckpointOptions.Memory, kept beside the key) and
//     refuses a log it cannot prove extends it: a restored backup, a
//     truncated log, a copy that diverged. Retention keeps every signed
//     tree provable: DropBefore's record carries consistency proofs from
//     the trees it leaves without records.
//   - Nothing here stops deletion of the whole directory, or an attacker
//     who controls the process before it appends (it can log lies).
//
// # Platforms
//
// Linux uses fallocate and fdatasync; other systems extend segments with
// Truncate and flush with File.Sync (F_FULLFSYNC on macOS). The
// cross-process lock is package lock's; over NFS it is only as good as the
// server's locks, and NFS is not supported for the log itself. The on-disk
// format is described in FORMAT.md.
package journal
