package store

import (
	"path/filepath"
	"reflect"

	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/vfs"
)

// Batching. Requests from every Store of one file in this process go
// through one group.Queue, so that a batch is one durable.Updater call and
// the backups rotate once per write; a request that arrives while a batch
// runs joins the next one, so nobody is answered by a write that began
// before their change was applied. One caller per batch runs it; the others
// wait, each until its own context ends at the latest (a request whose
// context ends before the batch reaches it is not applied). A running batch
// may also take over the waiting one (Steal) before it starts writing:
// those changes are then applied, after its own, before the write, which
// keeps batches large when callers come back as soon as they are answered.
//
// The group's rules hold here too: a panic in an update function is raised
// again in its caller's goroutine (the others' updates go on); an Update of
// the file from inside an update function fails with durable.ErrReentrant.

// job is one request of some Store[T] of the file; a batch holds the jobs
// of one Store.
type job interface{ owner() any }

func sameOwner(b []job, j job) bool { return b[0].owner() == j.owner() }

// batchers holds one queue per file, shared by every Store of it in this
// process and forgotten when idle.
var batchers group.Registry[queueKey, job]

// queueKey names a file. fs is the filesystem under any vfs.Wrapper (so
// that a fault injector and the filesystem it wraps share a queue), or nil
// when that cannot be compared: such Stores of one path then share a queue
// too, which is safe (isolation never rests on comparing filesystems).
type queueKey struct {
	fs   vfs.FS
	path string
}

func keyFor(fsys vfs.FS, path string) queueKey {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	base := vfs.Base(fsys)
	if !reflect.TypeOf(base).Comparable() {
		base = nil
	}
	return queueKey{base, abs}
}

// waiting returns how many requests for the Store's file wait for their
// batch's turn (for tests).
func (s *Store[T]) waiting() int { return batchers.Waiting(s.key) }
