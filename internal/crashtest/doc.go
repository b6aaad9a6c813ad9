// Package crashtest is the crash harness shared by the tests and by
// "durable demo": it kills a writer process at random moments, or cuts the
// power under it on a loop-mounted filesystem, and checks that the file it
// writes holds a complete version no older than the last one the writer
// acknowledged.
//
// The writer runs in a child process (RunWriter, configured through the
// environment so that a test binary or the durable command can re-execute
// itself as the child) and prints "ack N" after each write of version N
// returns. Each version is a JSON document that carries a checksum of its
// own content (Encode), so a reader can tell a complete version from a torn
// one (Check).
//
// Two drivers run rounds against such a writer: KillRounds (SIGKILL, which
// tests atomicity against process crashes, on every platform) and
// PowerCutRounds (shut a loop-mounted ext4 or xfs down without flushing its
// log, then remount: the only black-box way on Linux to catch a missing file
// or directory fsync).
package crashtest
