package group

import "github.com/durable-go/durable/internal/goid"

// Goroutine returns the id (package goid) of the goroutine that runs the
// batch, which inside User is the one running the callback. It must be
// called from that goroutine. User has usually taken the id already, and
// then this costs nothing: goid.ID walks the caller's stack, which deep in
// a batch's run cost a store update 10 to 20 µs. (UserPinned takes none:
// its goid.Token is no goroutine id.)
func (b *Batch[T]) Goroutine() uint64 {
	top := b
	for top.parent != nil {
		top = top.parent
	}
	if top.gid == 0 {
		top.gid = goid.ID()
	}
	return top.gid
}
