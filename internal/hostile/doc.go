// Package hostile holds the hostile-neighbour suite: a second user plants
// symbolic links, hard links, FIFOs and directories at every name durable
// creates or opens, in a sticky shared directory and in a directory that
// user owns, while root and a non-root caller run every verb of the
// durable command. Nothing outside the caller's own files may be created,
// changed, chmod-ed, chown-ed or locked, and nothing may hang.
//
// The suite is in hostile_linux_test.go; it runs as root (CI does) and
// skips otherwise. A new name that durable creates is one line in its
// plants table, a new verb one line in its verbs table.
package hostile
