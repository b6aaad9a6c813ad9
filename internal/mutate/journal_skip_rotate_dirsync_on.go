//go:build durable_mutate_journal_skip_rotate_dirsync

package mutate

// JournalSkipRotateDirSync is on: this build is broken on purpose (do not fsync the directory after creating a journal segment).
const JournalSkipRotateDirSync = true
