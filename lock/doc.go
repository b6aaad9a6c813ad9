// Package lock provides cross-process file locks: exclusive and shared,
// with context-aware waits and a non-blocking TryLock.
//
// # Guarantee
//
// While a [Lock] or [TryLock] holder has not called [Held.Unlock], no other
// holder — goroutine or process, on the same machine — holds a lock on the
// same name, exclusive or shared. Any number of [RLock] holders may share a
// name, but not with an exclusive holder. A process that dies, even by
// SIGKILL, releases its locks: on Linux, macOS and the BSDs at once, as the
// operating system drops them with the process's last descriptor; on
// Windows when the system gets to it, since Microsoft documents the
// release of a dead process's locks as depending on available system
// resources. A waiter keeps waiting meanwhile, within its context.
//
// # Rules
//
//   - The lock for name lives in a sidecar file, name + ".lock", never in the
//     data file itself: Windows locks are mandatory, so locking the data file
//     would stop readers, and the data file is replaced by rename anyway.
//   - The sidecar is created when missing and never deleted. Removing a lock
//     file that someone may hold or be about to open breaks mutual
//     exclusion: the next locker creates a new inode and locks that instead.
//   - The sidecar belongs to whoever owns name: it gets name's owner and
//     group (set on the new file before its name appears, so root's lock
//     never locks the owner out) and, exactly, whatever umask, the read and
//     write bits of name: a class that may write name may read and write
//     the lock file (an exclusive lock needs a descriptor open for writing),
//     a class that may only read name may only read it (a shared lock needs
//     no more). That is the power flock on name itself would give. Where
//     name does not exist yet, its directory stands in: its owner and
//     group, and read and write for each class that may create files there
//     (only the owner in a sticky directory that everyone may write, such
//     as /tmp). A lock file that the caller owns and that does not match is
//     corrected when it is opened.
//   - The sidecar may sit in a directory that others can write, and root may
//     be the locker. It is never opened through a symbolic link, never waited
//     on if it is a FIFO, and used only if it is a regular file with no other
//     name; anything else fails with an error naming it and wrapping
//     durable.ErrUnsafeFile, and nothing outside is created or locked.
//   - Waits are finite by default. When the context has no deadline, Lock and
//     RLock give up after [DefaultTimeout] with an error wrapping [ErrLocked]
//     and [context.DeadlineExceeded]. Cancelling the context ends a wait
//     promptly. An exclusive wait (Lock, Mutex.Lock) sits in the kernel's
//     queue for the lock, blocked in a goroutine of its own on a descriptor
//     of its own, so that the lock passes to it the moment its holder
//     releases it, with no sleep in between: writers of several processes
//     taking turns hand it over at once. That call cannot be interrupted, so
//     a wait that ends early leaves it behind for the next exclusive wait
//     of the name in this process to take over (at most one per name), and
//     a lock it gets that nobody waits for any more is released at once. A
//     shared wait (RLock) retries non-blocking attempts with a short
//     back-off.
//   - Locks are not re-entrant. Code that calls back into its caller while
//     it holds an exclusive lock runs the callback through [Held.Do]; a Lock
//     or RLock of the same name from that callback would wait for itself,
//     and fails at once with an error wrapping [ErrReentrant] instead. Every
//     update in this module does so, so an update of a file from inside an
//     update callback of the same file is refused whichever packages meet.
//   - A lock serialises writers; it does not protect readers. Readers rely on
//     the atomic replace (write a temp file, fsync, rename) and need no lock.
//     Never write a file in place under a lock.
//   - Lock descriptors are close-on-exec (and not inheritable on Windows), so a
//     child process does not keep a lock alive after its parent unlocks.
//   - A [Held] that becomes unreachable without Unlock is reported on
//     standard error and released by the garbage collector; do not rely on
//     that, it is a safety net for bugs.
//
// # Platforms
//
// Linux uses open-file-description locks (F_OFD_SETLK), falling back to flock
// on kernels older than 3.15. It never uses classic fcntl locks, which any
// close of any descriptor for the file releases. Darwin and the BSDs use
// flock. Windows uses LockFileEx on one byte far past the end of the sidecar,
// so that reading the sidecar is never blocked. The sidecar is opened
// sharing read, write and delete access; a program that holds it open
// without sharing (antivirus, backup and sync tools do) makes the lock
// busy: Lock and RLock keep waiting, TryLock fails with ErrLocked. RLock
// opens an existing sidecar for reading only.
//
// Over NFS and other network filesystems the lock is only as good as the
// server's lock support: flock may be emulated with byte-range locks, or be
// local to one client, and a client that loses its lease loses its locks.
// Keep locked state on a local disk.
//
// # Locks held elsewhere
//
// Adopt wraps a lock held somewhere else, such as a PostgreSQL advisory
// lock (package github.com/durable-go/durable/pg), in a Held. Such a lock
// can be lost while held, when the session holding it ends; Held.Lost and
// Held.Check tell the holder. A file lock is never lost before Unlock.
package lock
