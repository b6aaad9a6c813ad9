package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/vfs"
)

// Changed reports whether the file may have changed since this Store last
// read it with Get (or Open): it compares the file's identity, size and
// modification time, without reading it. It also reports true after this
// Store's own writes, until the next Get.
func (s *Store[T]) Changed() bool {
	if s.be != nil || s.log != nil {
		return true // only a read can tell (in log mode, of the log)
	}
	target, err := s.target()
	if err != nil {
		return true
	}
	fi, err := s.fs.Stat(target)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.seenValid {
		return true
	}
	if err != nil {
		return !(errors.Is(err, fs.ErrNotExist) && s.seen == nil)
	}
	if s.seen == nil {
		return true
	}
	return !sameFile(s.seen, fi) || s.seen.Size() != fi.Size() || !s.seen.ModTime().Equal(fi.ModTime())
}

func (s *Store[T]) noteSeen(fi fs.FileInfo) {
	s.mu.Lock()
	s.seen, s.seenValid = fi, true
	s.mu.Unlock()
}

func sameFile(a, b fs.FileInfo) bool {
	if ma, ok := a.Sys().(*vfs.MemStat); ok {
		mb, ok := b.Sys().(*vfs.MemStat)
		return ok && ma.Ino == mb.Ino
	}
	return os.SameFile(a, b)
}

// Watch polls the file every Options.PollInterval and sends the revision
// (durable.Rev) of each new version it finds (this Store's own writes
// included). A reader that falls behind gets only the newest one. The
// channel is closed when ctx is done.
func (s *Store[T]) Watch(ctx context.Context) <-chan durable.Rev {
	ch := make(chan durable.Rev, 1)
	go func() {
		defer close(ch)
		t := time.NewTicker(s.poll)
		defer t.Stop()
		var changes <-chan struct{}
		if s.be != nil {
			changes = s.be.Changes(ctx)
		}
		var last durable.Rev
		if _, rev, err := s.GetContext(ctx); err == nil {
			last = rev
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case _, ok := <-changes:
				if !ok {
					changes = nil
				}
			}
			if !s.Changed() {
				continue
			}
			_, rev, err := s.GetContext(ctx)
			if err != nil || rev == last {
				continue
			}
			last = rev
			select {
			case ch <- rev:
			default:
				select {
				case <-ch:
				default:
				}
				ch <- rev
			}
		}
	}()
	return ch
}
