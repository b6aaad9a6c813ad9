//go:build !durable_mutate_journal_skip_rotate_dirsync

package mutate

// JournalSkipRotateDirSync is off in every normal build. With the build tag
// durable_mutate_journal_skip_rotate_dirsync it is on: do not fsync the directory after creating a journal segment.
const JournalSkipRotateDirSync = false
