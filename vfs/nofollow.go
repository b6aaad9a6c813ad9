package vfs

// O_NOFOLLOW is the flag that makes OpenFile refuse a symbolic link at the
// end of the name, on every FS, for a caller who must never be led out of
// a directory by a link someone else planted there (the files durable keeps
// beside the caller's data). On Unix it is syscall.O_NOFOLLOW: the open
// fails (ELOOP; EMLINK on FreeBSD). On Windows it is
// FILE_FLAG_OPEN_REPARSE_POINT: the link itself is opened, and the caller
// refuses it by its type (File.Stat reports fs.ModeSymlink or
// fs.ModeIrregular). MemFS fails with ELOOP, as Linux does.
const O_NOFOLLOW = oNoFollow
