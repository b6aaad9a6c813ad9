// Package jsonl appends durably to plain JSON Lines files: session
// transcripts, event logs and other files that tools such as jq, tail -f
// and any JSON Lines reader must keep reading. The file stays plain JSON
// Lines, one JSON value per line, with no framing, checksums or side files
// that readers would need to know about.
//
// # Guarantee
//
// The promise of the durable module, for an append-only file:
//
//  1. Atomic. Every line is written whole with one write(2) on an O_APPEND
//     descriptor. A crash, kill -9 or power cut in the middle can leave at
//     most a torn tail (a last line cut short, or zero bytes where a
//     filesystem lost unsynced data). The next Open repairs it, and every
//     append first checks, under the lock, that the file ends with a
//     newline, repairing a line that a killed writer left; so a new line is
//     never glued to a torn one ("}{") and the file always parses line by
//     line.
//  2. Durable. Append returns nil only after an fdatasync (F_FULLFSYNC on
//     macOS) that began after its line was written. Concurrent appenders in
//     one process share that fsync (group commit); a caller is never
//     acknowledged by an fsync that started before its write, and waits at
//     most until its own context ends (an append that gives up before its
//     batch is written is not written). Open fsyncs
//     the directory so that a new file's name survives a power cut too.
//  3. Isolated. Writers in several goroutines and processes take the lock
//     on path + ".lock" (package lock; on vfs.OS, the default filesystem)
//     around each write and fsync. Readers take no lock (see Limits for a
//     line caught in the middle of its write).
//  4. Evident. Nothing is cut silently: a torn tail is first written
//     durably to an evidence file beside the log (path + ".torn." + Unix
//     nanoseconds), only then truncated, and reported (File.Report,
//     Options.OnRepair, Repair). A corrupt line in the middle of the file is
//     never cut: Open refuses with an error wrapping durable.ErrCorrupt that
//     gives its byte offset (and line number), unless Options.AllowCorrupt
//     says to append anyway. Open looks for such lines only in the end of
//     the file that it reads (see Limits); Scan, Repair and durable fsck
//     read the whole file and report both kinds of damage anywhere.
//  5. Nothing lost on bad input. AppendRaw refuses input that is not one
//     JSON value (ErrInvalidJSON) before writing anything; Append writes
//     json.Marshal's output, which never holds a raw newline.
//
// What counts as the torn tail: the bytes after the last newline unless
// they are a complete JSON value (object, array, string or literal; a bare
// number is cut, since a cut-short number still parses), trailing zero
// bytes, and lines holding zero bytes directly before those (a filesystem
// that lost unsynced blocks leaves zeros, possibly with newlines after
// them). A complete last value without its newline is kept and terminated.
//
// A filesystem that writes blocks back in any order (xfs, ext4 for
// overwrites; any of them for pages of one write) can also lose an earlier
// block of the last unsynced write and keep a later one: zeros, then
// complete lines. Such crash leftovers are cut as a torn tail too, from the
// first line holding zeros, when the stretch has the shape a crash leaves
// and damage rarely does: every run of zero bytes in it begins at a line
// start or a 512-byte boundary and ends at a 512-byte boundary or the end of
// the file (JSON never holds a zero byte, so such a run is exactly a lost
// sector or page), it holds only such lines, valid lines and blank lines,
// and it begins within the last 256 KiB of the file: with durable.Full, only
// the last write can be unsynced, and a write of several lines is at most
// 256 KiB (a larger AppendRawBatch is written in pieces, each fsynced before
// the next). With durable.Cache appends are fsynced only each time the file
// grows past a multiple of 256 KiB, so the stretch may begin anywhere in the
// end of the file that Open reads. The lines cut were never acknowledged by
// an fsync; they are in the evidence file. Any other invalid line, and zeros
// of any other shape or further from the end, are corrupt lines in the
// middle. A file of lines without checksums cannot tell a whole lost page
// near its end from damage of the same shape; that case is cut, into
// evidence, rather than refused. Scan judges as Open with durable.Full does.
//
// Options.Durability = durable.Cache weakens (2) by name: no fsync per
// append, so an acknowledged line survives kill -9 (the kernel has it) but
// not power loss; the torn tail a power cut leaves is repaired as usual.
// (The append that takes the file past a multiple of 256 KiB does fsync, so
// that the unsynced part, which a power cut can damage, stays small.)
//
// # Opening a large file
//
// Open does not read the whole file: a crash can damage only what was not
// yet fsynced, and that is always at the end. With durable.Full every append
// is fsynced before the next is written and a large one is written in pieces
// of at most 256 KiB, each fsynced before the next, so the unsynced part is
// at most the last 256 KiB of lines, or one longer line written alone; with
// durable.Cache it is at most the 512 KiB written since the file last
// crossed a multiple of 256 KiB, or 256 KiB of lines before one longer line.
// Open finds the start of the line that holds the byte 512 KiB before the
// end, steps back 256 KiB more and reads from the start of the line there:
// about 768 KiB, more before a long last line, which covers every such case.
// So an Open costs the same for a file of a gigabyte as for one of a few
// megabytes. Nothing is persisted for this: no marker of a checked size,
// which a crash, a copy or a hand edit could leave stale, and no side file
// for readers to know about. The bound rests on the writers: every writer
// appends through this package, and a writer killed between its write and
// its fsync leaves its lines unsynced until the next append's fsync covers
// them (the append right after it, which takes the lock, does).
//
// # Limits
//
//   - NFS and other network filesystems: O_APPEND is not atomic across
//     clients (each client computes the end of the file itself, so two
//     clients can overwrite each other's lines), and the lock is only as
//     good as the server's lock support. Keep the file on a local disk, or
//     append from one machine.
//   - Every writer must go through this package (or at least take the lock
//     and write whole lines with one write). A tool that appends without
//     the lock can see its partial line repaired away under it.
//   - An error from Append means "not acknowledged", not "absent". Append
//     takes back a failed write or a write whose fsync failed (truncating
//     the file to where it was); if that fails too, the line may remain,
//     and after a failed fsync whose lines could not be taken back the File
//     refuses further appends until it is opened again. Callers that retry
//     should carry an id to recognise duplicates.
//   - A crash during a repair, after the evidence file was written but
//     before the truncate reached the disk, leaves the torn bytes in the log
//     and in the evidence file; the next repair saves them again, so they
//     may be in two evidence files. They are never in none.
//   - Open checks only the end of a large file (see Opening a large file):
//     a corrupt line further back, which no crash leaves (a disk error, a
//     hand edit), is not found by Open and does not stop appends, which
//     stay safe after it. Scan, Repair and durable fsck read every line;
//     run them to check a whole file. The file's directory must exist.
//   - The shape rules for a crash's leftovers depend on the durability of
//     the Open, not of the writer that crashed: after a power cut under
//     durable.Cache, an Open with durable.Full refuses leftovers that begin
//     more than 256 KiB from the end as corrupt lines (lines that far back
//     are acknowledged under durable.Full, and cutting them would lose
//     them). Open such a file with durable.Cache to cut them.
//   - Renaming or replacing the file (log rotation) under an open File is
//     not followed: Close and Open again.
//   - A line that is being written can be seen half-written by a reader
//     that does not take the lock; Scan then reports a torn tail that is
//     not one. Scan again.
package jsonl
