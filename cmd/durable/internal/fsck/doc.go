// Package fsck checks directories that hold durable's files for what a
// crash, a damaged disk, a careless edit or a loose umask leaves behind, and
// repairs what is safe to repair. It is the engine of "durable fsck".
//
// # Guarantee
//
// Check without Options.Fix changes nothing on disk: it reads files and
// directories, runs journal.Verify, jsonl.Scan and a read-only queue.Open,
// and on Linux reads /proc. It creates no lock files, no evidence files and
// no temp files, and it never changes a mode or a time stamp.
//
// With Options.Fix it repairs only what the package that owns the file
// would repair on its own, through that package's code and under that
// package's lock, and it never deletes data: the only files it removes are
// temp files of a write whose process is gone (they never held a published
// version), and every other repair keeps what it replaces (a damaged
// document as name.corrupt.<time>, a torn tail in an evidence file).
// Everything else is reported with what a person has to do.
//
// Every read and every repair acts on exactly what was checked, so that
// another user who can write the directory cannot turn a repair against a
// file elsewhere: files are opened relative to their directory (itself
// compared with what the walk saw) without following a symbolic link and
// without blocking on a FIFO, compared by device and inode with what was
// listed, and changed through that descriptor (fchmod, and jsonl.RepairFile
// for a torn tail); a temp file's name is removed with unlinkat relative to
// the same directory only while it is still the file that was checked. A
// file with more than one hard link is not changed in place: its other
// names may be outside the tree. A repair
// waits for the owning package's lock, as that package would (a
// "durable store edit" in progress holds a document's lock until the
// editor exits).
//
// # What it finds
//
// Each Finding has a Kind:
//
//   - orphaned-temp: a temp file of this module (".name.<12 base32>.tmp",
//     or a journal's ".<base>.seg.tmp") whose writer is gone. The writer of
//     a temp file keeps it open until it renames or removes it. On Linux
//     the writer is gone when no process has the file open (every
//     /proc/PID/fd is looked at) and its last change (the later of mtime
//     and ctime, so a fresh hard link counts as a change) is older than
//     Options.Grace. /proc only shows the processes fsck may inspect: when
//     a process running as the temp file's owner cannot be inspected (or,
//     for fsck run by another user, any process of the owner, root's
//     included), and on every other system, the temp file must instead be
//     older than Options.OlderThan. Processes in another PID namespace (a
//     container sharing the directory) are not seen either. Fix removes it.
//     The worst a wrong guess can do is make a write that is still running
//     fail with an error: the file it replaces keeps its old content, since
//     the temp file never held a published version. A younger temp file,
//     or one some process has open, is an active-temp notice.
//   - corrupt-document: a store document (a "*.json" file, or a file with
//     "name.bak.N" or "name.pre-vN" and the store's lock "name.lock"
//     beside it, or a "name.corrupt.<time>" in the store's time format)
//     that is not a valid JSON text: empty, all zero bytes, invalid UTF-8, cut short,
//     trailing garbage. fsck does not know the program's Go type, so a
//     document that is valid JSON but does not fit it is not found. Fix
//     does what package store does when it opens such a file: under the
//     document's lock it keeps the damaged file as name.corrupt.<time>,
//     restores the newest backup that is valid JSON and makes that durable.
//     With no such backup it is not fixable.
//   - corrupt-backup: a backup (name.bak.N, or the unnumbered name.bak of
//     earlier releases) that is not valid JSON. Not fixable: backups are
//     never rewritten. Names are recognised by the packages that make them
//     (durable.ParseBackupName, store.ParseCorruptName, ...), never here.
//   - torn-jsonl: a JSON Lines file ("*.jsonl", "*.ndjson", or any file with
//     a "name.torn.*" evidence file beside it) that ends in a torn last line
//     or zero bytes, what a crash mid-append leaves. Fix runs jsonl.Repair,
//     which saves the torn bytes in name.torn.<time> before cutting them.
//     Not fixable when the file also has a corrupt line in the middle
//     (jsonl.Repair refuses that too).
//   - corrupt-jsonl: a line in the middle of a JSON Lines file that is not
//     JSON. Never cut; not fixable.
//   - torn-journal, torn-queue: a journal (a directory of
//     "NNNNNNNNNNNNNNNNNNNN.seg" segments) or a queue (a journal whose
//     checkpoint origin is "durable-queue" or whose records are queue
//     events) whose last segment ends in a torn batch, what a crash
//     mid-append leaves. It was never acknowledged. Fix opens it for
//     writing, as the next writer would: under its lock the torn bytes are
//     copied to evidence/, cut, and a note record says so.
//   - corrupt-journal, tampered-journal, corrupt-queue, tampered-queue:
//     damage that is not a torn tail (journal.Verify's ErrCorrupt and
//     ErrTampered), or a queue record that is not a valid event. Not
//     fixable: this needs a person, and the evidence must stay as it is.
//   - queue-snapshot: a queue's state snapshot (queue.SnapshotName) that does
//     not decode, belongs to another journal or history, or gives another
//     state (Stats) than a replay of every event, which fsck always does.
//     The journal holds every message, so Fix keeps the snapshot as
//     evidence beside it and opens the queue for writing, which rebuilds it.
//   - insecure-secret (Unix only): a file that holds secrets and that group
//     or others may read or write. Secrets are recognised from disk alone:
//     a JSON document with a non-empty string under a credential key
//     (access_token, refresh_token, client_secret, password, api_key, ...;
//     an oauth token file is one), a "durable log keygen" private key
//     (text starting "PRIVATE+KEY+"), every backup or kept copy of such a
//     document, and any backup or kept copy that is more open than its
//     private (no group or other bits) document. A secret store whose
//     content looks like none of these cannot be told from a plain one.
//     Fix removes the group and other bits (0644 becomes 0600): tightening
//     a mode loses nothing.
//   - insecure-dir (Unix only): a directory holding a secret that group or
//     others may write without the sticky bit, so they could replace or
//     remove it. Not fixable: a directory's mode is shared by everything
//     in it and may be deliberate; the finding says what to run.
//   - stale-corrupt: a damaged copy kept by a recovery (name.corrupt.<time>
//     from store, name.torn.<time> from jsonl) older than
//     Options.StaleAfter, which nobody has looked at. Never removed: it is
//     the only copy of what was damaged. A younger one is a kept-corrupt
//     notice.
//   - unreadable: a file or directory fsck could not read, so could not
//     check.
//
// Notices (active-temp, kept-corrupt) are not problems. Symbolic links are
// neither followed nor checked: check the directory they point into.
package fsck
