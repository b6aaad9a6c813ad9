// Package store keeps a typed document — configuration, state, credentials —
// in a plain JSON file that people can read and edit, and that goroutines
// and processes can update at the same time without losing anything.
//
// It keeps the promise of the whole module:
//
//  1. Atomic. A crash, kill -9, power loss or full disk at any moment leaves
//     the file either as it was or as the update meant it to be.
//  2. Durable. Update returns only once the new version is on disk.
//  3. Isolated. Concurrent updates, in goroutines or processes, never lose
//     each other's changes, and readers never see a half-written file.
//  4. Evident. A file that does not parse is reported, never silently
//     replaced by defaults.
//  5. Nothing lost on bad input. An invalid document is refused before
//     anything on disk changes.
//
// # Transactions
//
// Store.Update takes the file's cross-process lock (the sidecar
// "name.lock"), loads the file if another process changed it, runs the
// function on the document, validates the result and publishes it with a
// durable atomic replace (durable.Updater), then unlocks. Concurrent
// Updates within a process are coalesced into one write: each function runs
// exactly once, in order, and sees the result of the ones before it; one
// that fails (or panics) is undone without disturbing the others, and a
// panic is raised again in the goroutine of the caller whose function
// panicked. Each caller's context bounds its own wait, whoever leads the
// batch: one that gives up before its function runs returns with the
// context's error, its change not applied, and fails nobody else. An Update
// of the file from inside an update function (through any Store of it)
// fails with durable.ErrReentrant. When the write fails, the callers whose
// functions saw the unwritten changes of others fail with it (their own
// error joined), since one by one they would have seen another document;
// callers before the first change keep their outcome. Get reads without a
// lock: every version is published whole.
//
// A function that returns an error or panics is undone whole, unexported
// fields included, so that no part of an aborted change reaches a later
// update. For a type whose value its encoding fixes entirely (exported,
// uniquely named fields of plain data, no interfaces, marshalers, IsZero
// methods or embedded structs, and no omitempty on maps, slices or floats)
// and a document the store keeps as a tree (see Encoding), the value is
// rebuilt from the copies of its members the encoder keeps anyway, and
// only when an update fails. For any other type the store takes a deep
// copy of the document before each function runs. Either follows every
// pointer, map and slice, so T should hold data, not handles: keep open
// files, connections and loggers outside the document.
//
// # Encoding
//
// The bytes written are exactly what encoding/json writes for the value
// (json.Marshal of a *T without HTML escaping, indented), whatever the
// type does: marshalers, IsZero methods and omitzero, TextMarshaler map
// keys, embedded structs, unexported state. A document below 128 KiB (of
// compact JSON; 16 KiB for a type without hidden state, whose tree also
// spares the deep copy of the undo) is encoded whole by encoding/json on
// every update. A larger one, of a plain struct or string-keyed map type,
// is encoded incrementally: the store keeps the encoding of every member and, after
// an update, compares rather than re-encodes what did not change, and
// rewrites only the blocks (about 16 KiB each) of a large map's last
// encoding that hold a changed member, which makes changing one key of a
// 1 MB document several times cheaper. A
// member whose encoding may change without anything the comparison sees
// changing (a marshaler, an IsZero method, omitzero over unexported
// fields, TextMarshaler keys) is always encoded again. The store never
// publishes invalid JSON: a document encoded whole passes json.Indent (or
// json.Valid, compact); one the incremental encoder assembles is made only
// of what encoding/json wrote and decoded back when it changed, and of a
// large map's cached blocks, private copies that are reused only if their
// checksums and the places of the changes spliced into them check out (a
// check of the whole document would cost more than the rest of the
// update). An encoding that encoding/json could not read back into T is
// refused, so the store never publishes a file it cannot open. The
// encoder lives in internal/jsonenc. This package's differential fuzzer
// (FuzzCodecDiff, run with a fixed seed set of over 5,000 updates in every
// go test) checks after every update that the file equals encoding/json's
// output, that a fresh Open and Get read the value back, and that a failed
// update left the value exactly as it was, unexported fields included;
// internal/jsonenc runs the same fuzzer (internal/jsonenc/jsonenctest) on
// the encoder alone.
//
// # File format
//
// The file is the JSON encoding of T (as json.Marshal of a *T, without HTML
// escaping), indented with two spaces by default (Options.Indent, Compact),
// with a final newline. A top-level field the program does not know — written
// by a newer version of the program, or added by hand — is kept on every
// rewrite, after the known fields, in the order the file had it. With a
// schema number, its key comes first:
//
//	{
//	  "schema": 2,
//	  "name": "demo",
//	  "servers": {
//	    "a": {"port": 80}
//	  },
//	  "added_by_v3": true
//	}
//
// Limits: only top-level unknown fields are kept. An unknown field nested
// inside a known struct (say "servers.a.weight" when the program's server
// type has no Weight) is dropped when the program rewrites the file, as
// encoding/json would drop it. A type with its own MarshalJSON or
// UnmarshalJSON at the top level sees every key as known and keeps nothing
// extra. Formatting and key order of the known fields are normalised on
// the first write.
//
// # Backups and recovery
//
// Each write first keeps the version it replaces as name.bak.1, shifting
// older ones up to name.bak.N (Options.Backups, default 1). Backups are hard
// links to the old version (a copy where the filesystem has no links), and
// are never the file being written.
//
// If the file does not parse — torn by a program that does not write
// atomically, a bad hand edit, empty, zero-filled, invalid UTF-8, the wrong
// JSON type, a value that does not fit T — Open and Get take the newest
// backup that parses, keep the damaged file as name.corrupt.<time> (it is
// never deleted), put the good version back in place, and report it with a
// *RecoveredError (errors.Is(err, ErrCorrupt) holds) given to
// Options.OnRecover, or kept for Store.Warnings without it. When no backup
// parses, the file is left alone and Open or Get fails with a
// *CorruptError: the store never falls back to defaults. A missing file is
// not an error: it reads as Options.Default or the zero T.
//
// # Errors and warnings
//
// As everywhere in Go, a non-nil error means the call failed and its other
// results are not to be used: Open and Get never return a value together
// with an error. What they find that is not a failure — a recovery from a
// backup, a secret file that others can read — goes to Options.OnRecover
// and Options.OnInsecure, or, without them, waits in Store.Warnings (where
// nothing is logged: a program that wants to tell its user asks there).
//
// # Schemas
//
// With Options.Schema set, the file carries its schema number (the
// "schema" key by default). A file with an older schema is migrated on
// first access, inside a transaction: Options.Migrate[n] turns the top-level
// object of schema n into schema n+1, the file as it was is kept as
// name.pre-v<n>, and the migrated document is written. A file written for a
// newer schema is read as it is and keeps its number. (The word "version"
// is kept for format constants; a document's content hash is its
// revision, durable.Rev.)
//
// # Secrets
//
// Options.Secret is the preset for credentials: a new file is created 0o600
// in a 0o700 directory, a wider Perm is refused, and an existing file that
// group or others can read is reported with a warning (an *InsecureError,
// errors.Is(err, ErrInsecure), to Options.OnInsecure or Store.Warnings),
// never silently chmod-ed. Backups and damaged
// copies have the mode of the file they keep.
//
// # Log mode
//
// With Options.Log, a write costs what its change costs, not what the
// document does. The file stays the readable snapshot, and each Update
// appends a JSON merge patch (RFC 7386) of its change to the patch log
// beside it, LogName(file) ("file.patchlog", a journal directory, see
// package journal), flushed before Update returns. The patch is derived
// from what the incremental encoder found changed, so a one-field update
// of a 1 MB document appends a few dozen bytes. Finding what changed
// still compares the whole document after Update's function ran (Go does
// not say what a function changed); UpdateMember, for a change of one
// member of a map of plain records, runs its function on a copy of the
// member, so nothing else can change, and spares that compare, which at
// 10,000 members is half an update's CPU time. Compaction folds the
// patches into the snapshot (a durable replace, with the backups): when
// they reach Options.LogCompactSize, on Close, on Compact, and with
// durable store compact FILE. Get and Update read the snapshot once and
// then only the patches they have not seen, from any process.
//
// The guarantee is the same as in the default mode: after a crash, kill or
// power cut at any point (compactions included), Open returns a document
// equal to the result of some prefix of the updates that includes every
// acknowledged one. The log names, with a content hash, the snapshot its
// patches build on, so an edit of the file made without the lock while
// patches are pending (a hand edit, a backup put back, a program opening
// it without Options.Log) is detected and never merged blindly: Open, Get,
// Update and Compact fail with a *LogConflictError, which says what to do.
// Store.DiscardLog (or DiscardLogAt, or durable store compact --discard)
// keeps the edit and sets the patches aside as evidence in
// "file.patchlog.discarded.<time>". An edit while nothing is pending is
// simply the document. durable edit and the durable store verbs work
// through the log (edit compacts before and after, so that the file holds
// what was edited).
//
// A merge patch cannot set a member to null (null deletes it): an update
// that does (a nil pointer or map written as null) is logged as the whole
// document instead, which costs what the default mode's write does. In
// log mode a revision (durable.Rev) is the snapshot's content hash when
// nothing is pending, and otherwise names the version by the log's id, the
// snapshot and the last patch; a compaction changes it without changing
// the document, so a Replace with a revision read before a compaction
// fails with ErrConflict. Log mode does not recover a damaged snapshot
// from a backup nor migrate an older schema (Open reports both: open it
// once without Options.Log, after durable store compact), and it does not
// apply to a Backend. The record format is in store/LOGFORMAT.md.
//
// Choose log mode for documents of about 100 KB and more that are updated
// often, a few fields at a time, or by several processes; the default mode
// is simpler (one file, nothing to compact) and as fast for small
// documents updated now and then.
//
// # Other backends
//
// Options.Backend keeps the document somewhere other than a file, with the
// same Update, Replace, Get, Watch, Validate and migrations (see Backend).
// Package github.com/durable-go/durable/pg keeps it in a PostgreSQL row,
// shared by every machine: pg.OpenStore returns the same *Store[T].
//
// # Where files go
//
// ConfigPath and StatePath name a file in the per-user configuration and
// state directories, following XDG on Linux and the platform conventions
// elsewhere (XDG() for CLI tools that want ~/.config on macOS too).
//
// # Platforms and limits
//
// The lock and the atomic replace are those of packages lock and durable,
// with their platform notes: on NFS neither is reliable across clients.
// Backups are rotated while the new version is written, and before it is
// published, each step made durable by a directory fsync of its own (one
// per backup kept), so that nothing relies on directory changes reaching
// the disk in order: under POSIX's rules, where any subset of unsynced
// directory changes may survive a crash, as under the journaling
// filesystems' one global order, after a crash the file is the old or the
// new version, every backup is a good version, and whenever the new
// version survived, name.bak.1 holds the one it replaced. On Linux's xfs
// and on ext4 with its journal, which keep directory changes in one order
// (vfs.OrderedDirs), the same holds without those fsyncs, and they are
// skipped: the directory fsync after the new version's rename makes the
// rotation durable with it. A damaged file's copy and a pre-migration copy
// get a directory fsync of their own before anything replaces the file.
//
// Performance: an update costs the write of the whole file plus, for the
// store, a deep copy of the document (for the undo), its encoding (for a
// large document, a comparison with the last version, tens of ns per map
// entry or struct field, and the encoding of what changed) and one read of
// the file under the lock to see whether another process changed it. A
// Store keeps the lock file open between updates (except on Windows)
// through a durable.Updater; it is closed when the Store is garbage
// collected.
package store
