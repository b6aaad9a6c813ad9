// Package durable replaces files so that they survive crashes, power cuts,
// full disks and concurrent writers.
//
// The promise, which every package of this module keeps:
//
//  1. Atomic. A crash, kill -9, power loss or full disk at any moment leaves
//     a file either exactly as it was before an operation or exactly as the
//     operation meant it to be. Never torn, never empty, never a mix.
//  2. Durable. An operation that returned success survives power loss.
//     Nothing is acknowledged before the fsync that covers it has returned.
//  3. Isolated. Concurrent writers never lose each other's updates, and
//     readers never see a half-written file.
//  4. Evident. Corruption is detected and reported, never silently parsed.
//  5. Nothing lost on bad input. Invalid input is refused with a clear error
//     before anything on disk changes.
//
// WriteFile is the drop-in replacement for os.WriteFile. It writes a hidden
// temp file beside the target (".name.<random>.tmp", created with O_EXCL and
// the final mode), checks every byte was written, fsyncs it, renames it over
// the target and fsyncs the directory. A failure before the rename removes
// the temp file and leaves the target untouched; nothing is removed after it.
// Create streams a large file the same way and publishes it only on Commit:
// Close never publishes.
//
// Concurrent WriteFile calls for the same file within one process coalesce:
// while one replace runs, later callers wait and the last of them is written
// next, once, for all of them. Each caller returns when a version containing
// its data, or a later caller's data, is durable — last writer wins, as it
// would if the calls ran one by one. Concurrent replaces in one directory
// share the directory fsync on the same terms: a caller is only acknowledged
// by a directory fsync that began after its own rename.
//
// Coalescing (of WriteFile, Update and every package built on this one) keeps
// these rules:
//
//   - A panic in a caller's callback (an Update function, a Verify callback)
//     is raised again in that caller's goroutine; every other caller of the
//     batch gets its own outcome, and the file is never left wedged.
//   - Every caller honours its own context, whoever leads its batch: one
//     whose context ends while it waits returns with the context's error
//     (wrapping ErrLocked for a deadline) and its function is never called;
//     a leader that gives up fails nobody else.
//   - An Update of a file from inside an Update (or a Verify callback) of
//     the same file is refused with an error wrapping ErrReentrant instead
//     of waiting for itself, whichever APIs meet there (Update, a store, a
//     lock.Mutex): the file's in-process lock knows the goroutine that
//     holds it.
//   - A caller is answered only by work that covers it, and never on a
//     batch member's result that was not written: when a batch's replace
//     fails, every caller whose function saw the unwritten change fails
//     with it (see UpdateContext).
//   - Isolation never depends on the filesystem value being comparable:
//     values that cannot be compared are queued by path, and a wrapper of
//     vfs.OS keeps the cross-process lock if it is a vfs.Wrapper (as
//     vfs.Inject is) and is refused otherwise (lock.ErrUnsupportedFS).
//
// Existing targets keep their mode, their owner and group when running as
// root, their group when the writer is a member of it, and their extended
// attributes where the platform allows; all of it is set on the temp file
// before it is published (the mode before any data is written), never after
// the rename. A writer outside the file's group cannot keep the group; the
// new group then gets only the "other" permission bits, so that nobody
// gains access. Extended attributes kept: on Linux user.*, POSIX ACLs and,
// as root, trusted.* and file capabilities; on macOS all but the system's
// (ACLs are not kept); on FreeBSD the user namespace (ACLs are not kept);
// on Windows the DACL, and the owner where the writer may give files away;
// none elsewhere.
//
// durable follows a symbolic link at the end of a name itself, so it
// applies the kernel's protected_symlinks rule itself, on every platform:
// in a sticky world-writable directory (like /tmp) a link is followed only
// if it belongs to the caller's effective uid or to the directory's owner.
// Another user's link there is refused with an error matching both
// ErrSymlink and fs.ErrPermission, by every function that follows links.
//
// New files get perm (less the umask), and directories created on the
// way get perm plus search permission where it allows reading, so 0o600 files
// land in 0o700 directories.
//
// A new file is acknowledged only once the whole path to it is durable: every
// directory on the way, whether this call made it or found it (another writer
// may have just made it, or been killed before syncing its parent), is
// fsynced into its parent, up to one this process has already seen durable.
// A replace puts a new file under the name, so other hard links to the old
// file keep the old content; NoSplitLinks refuses such targets.
//
// Where the platform cannot give a guarantee the documentation says so: on
// Windows there is no directory fsync, and a directory's changes are made
// durable by flushing a file in it, which NTFS's behaviour, not its
// documentation, backs (see vfs.OS and the README's platform table); on
// NFS, rename is atomic for one client only.
// Options may trade durability for speed by name (WithDurability(Cache)),
// never by default.
//
// Every error wraps its cause and names the file: errors.Is(err,
// syscall.ENOSPC) and errors.Is(err, fs.ErrPermission) work, and the
// sentinels below let callers branch on what happened.
package durable
