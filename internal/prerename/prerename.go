// Package prerename lets package store finish a step of its own while
// durable.Updater writes and fsyncs the new version, and have the rename
// wait for it.
//
// The store keeps the version being replaced as name.bak.1 and must make
// that link durable (a directory fsync) before the new version is renamed
// over the file: otherwise a crash could keep the new version and lose
// the old one's only name (where the filesystem keeps directory changes
// in one order, the store skips the fsync: see vfs.OrderedDirs). None of
// that rotation need come before the new version is written, only before
// it is renamed, so the store starts it on a goroutine and passes, through
// the context of Updater.Update, a function that waits for it; the Updater
// calls it after the temp file is written and synced, right before the
// rename, and abandons the replace if it fails. The rotation's link,
// renames and fsync then overlap the write and its fsync instead of
// queueing in front of them. Users cannot set it: the key is internal.
package prerename

import "context"

type key struct{}

// With returns ctx carrying wait, which the replace that ctx is given to
// calls just before its rename.
func With(ctx context.Context, wait func() error) context.Context {
	return context.WithValue(ctx, key{}, wait)
}

// From returns the function With put in ctx, or nil.
func From(ctx context.Context) func() error {
	f, _ := ctx.Value(key{}).(func() error)
	return f
}
