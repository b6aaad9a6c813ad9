package main

import (
	"strings"
	"testing"
)

// The traces below are cut from real probes (paths shortened to /d), so
// the rules are checked without strace.

const traceRawReplace = `
100 openat(AT_FDCWD</d>, "/d/target.1.tmp", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 5</d/target.1.tmp>
100 fsync(5</d/target.1.tmp>) = 0
100 renameat(AT_FDCWD</d>, "/d/target.1.tmp", AT_FDCWD</d>, "/d/target") = 0
100 openat(AT_FDCWD</d>, "/d", O_RDONLY|O_CLOEXEC) = 5</d>
100 fsync(5</d>) = 0
100 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/op-1", 0755) = -1 ENOTDIR (Not a directory)
100 openat(AT_FDCWD</d>, "/d/target.2.tmp", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 5</d/target.2.tmp>
100 fsync(5</d/target.2.tmp>) = 0
101 renameat(AT_FDCWD</d>, "/d/target.2.tmp", AT_FDCWD</d>, "/d/target" <unfinished ...>
100 --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=100, si_uid=0} ---
101 <... renameat resumed>)           = 0
101 openat(AT_FDCWD</d>, "/d", O_RDONLY|O_CLOEXEC) = 5</d>
101 fsync(5</d>) = 0
100 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/op-2", 0755) = -1 ENOTDIR (Not a directory)
100 openat(AT_FDCWD</d>, "/d/target.3.tmp", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 5</d/target.3.tmp>
100 fsync(5</d/target.3.tmp>) = 0
100 renameat(AT_FDCWD</d>, "/d/target.3.tmp", AT_FDCWD</d>, "/d/target") = 0
100 openat(AT_FDCWD</d>, "/d", O_RDONLY|O_CLOEXEC) = 5</d>
100 fsync(5</d>) = 0
100 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/end", 0755) = -1 ENOTDIR (Not a directory)
100 +++ exited with 0 +++
`

// renameio: a test of $TMPDIR (scratch), then the temp file in /tmp,
// fsynced and renamed, and no directory fsync.
const traceRenameio = `
7 openat(AT_FDCWD</d>, "/tmp/.target1", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 5</tmp/.target1>
7 openat(AT_FDCWD</d>, "/d/.target2", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 5</d/.target2>
7 renameat(AT_FDCWD</d>, "/tmp/.target1", AT_FDCWD</d>, "/d/.target2") = 0
7 unlinkat(AT_FDCWD</d>, "/d/.target2", 0) = 0
7 openat(AT_FDCWD</d>, "/tmp/.target3", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 5</tmp/.target3>
7 fsync(5</tmp/.target3>) = 0
7 renameat(AT_FDCWD</d>, "/tmp/.target3", AT_FDCWD</d>, "/d/target") = 0
7 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/op-1", 0755) = -1 ENOTDIR (Not a directory)
7 openat(AT_FDCWD</d>, "/tmp/.target4", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 5</tmp/.target4>
7 fsync(5</tmp/.target4>) = 0
7 renameat(AT_FDCWD</d>, "/tmp/.target4", AT_FDCWD</d>, "/d/target") = 0
7 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/end", 0755) = -1 ENOTDIR (Not a directory)
`

const traceNoSync = `
7 openat(AT_FDCWD</d>, "/d/target", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = 5</d/target>
7 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/op-1", 0755) = -1 ENOTDIR (Not a directory)
7 openat(AT_FDCWD</d>, "/d/target", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = 5</d/target>
7 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/end", 0755) = -1 ENOTDIR (Not a directory)
`

// bbolt: the database is created and synced, its directory never.
const traceCreateNoDirSync = `
7 openat(AT_FDCWD</d>, "/d/log.bolt", O_RDWR|O_CREAT|O_CLOEXEC, 0600) = 5</d/log.bolt>
7 fdatasync(5</d/log.bolt>) = 0
7 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/op-1", 0755) = -1 ENOTDIR (Not a directory)
7 fdatasync(5</d/log.bolt>) = 0
7 fdatasync(5</d/log.bolt>) = 0
7 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/op-2", 0755) = -1 ENOTDIR (Not a directory)
7 fdatasync(5</d/log.bolt>) = 0
7 fdatasync(5</d/log.bolt>) = 0
7 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/end", 0755) = -1 ENOTDIR (Not a directory)
`

// tidwall/wal: a new directory and a new segment in it, neither
// fsynced in its parent.
const traceNewDir = `
7 mkdirat(AT_FDCWD</d>, "/d/wal", 0750) = 0
7 openat(AT_FDCWD</d>, "/d/wal/00000000000000000001", O_RDWR|O_CREAT|O_TRUNC|O_CLOEXEC, 0640) = 5</d/wal/00000000000000000001>
7 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/op-1", 0755) = -1 ENOTDIR (Not a directory)
7 fsync(5</d/wal/00000000000000000001>) = 0
7 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/end", 0755) = -1 ENOTDIR (Not a directory)
`

// SQLite: a rollback journal (scratch), then a WAL whose creation is
// followed by a directory fsync; the -shm file is never synced.
const traceSQLite = `
7 open("/d/log.db", O_RDWR|O_CREAT|O_LARGEFILE|O_NOFOLLOW|O_CLOEXEC, 0644) = 5</d/log.db>
7 open("/d/log.db-journal", O_RDWR|O_CREAT|O_LARGEFILE|O_NOFOLLOW|O_CLOEXEC, 0644) = 6</d/log.db-journal>
7 fsync(6</d/log.db-journal>) = 0
7 open("/d", O_RDONLY|O_LARGEFILE|O_CLOEXEC) = 7</d>
7 fsync(7</d>) = 0
7 fsync(6</d/log.db-journal>) = 0
7 fsync(5</d/log.db>) = 0
7 unlink("/d/log.db-journal") = 0
7 open("/d/log.db-wal", O_RDWR|O_CREAT|O_LARGEFILE|O_NOFOLLOW|O_CLOEXEC, 0644) = 6</d/log.db-wal>
7 open("/d/log.db-shm", O_RDWR|O_CREAT|O_LARGEFILE|O_NOFOLLOW|O_CLOEXEC, 0644) = 7</d/log.db-shm>
7 fsync(6</d/log.db-wal>) = 0
7 open("/d", O_RDONLY|O_LARGEFILE|O_CLOEXEC) = 8</d>
7 fsync(8</d>) = 0
7 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/op-1", 0755) = -1 ENOTDIR (Not a directory)
7 fsync(6</d/log.db-wal>) = 0
7 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/op-2", 0755) = -1 ENOTDIR (Not a directory)
7 fsync(6</d/log.db-wal>) = 0
7 mkdirat(AT_FDCWD</d>, "/dev/null/durable-bench-marker/end", 0755) = -1 ENOTDIR (Not a directory)
7 fsync(6</d/log.db-wal>) = 0
`

func TestAnalyze(t *testing.T) {
	dirs := map[string]bool{"/d": true, "/d/wal": true, "/tmp": true}
	isDir := func(p string) bool { return dirs[p] }
	for _, tc := range []struct {
		name        string
		trace       string
		ops         int
		level       Level
		file, dir   string // per operation after the first
		problem     string // part of the first problem
		noteContain string
	}{
		{"raw replace", traceRawReplace, 2, Durable, "1 fsync", "1 fsync", "", ""},
		{"renameio", traceRenameio, 1, NotDurable, "1 fsync", "0", "rename to target not followed", "from another directory, /tmp"},
		{"os.WriteFile", traceNoSync, 1, NotDurable, "0", "0", "no fsync or fdatasync of any file in 1 of 1", ""},
		{"bbolt", traceCreateNoDirSync, 2, Partly, "2 fdatasync", "0", "created file log.bolt without", ""},
		{"wal", traceNewDir, 1, Partly, "1 fsync", "0", "created directory wal without", ""},
		{"sqlite", traceSQLite, 2, Durable, "1 fsync", "0", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := parseTrace(strings.NewReader(tc.trace))
			if err != nil {
				t.Fatal(err)
			}
			r := analyze(evs, isDir)
			if r.Ops != tc.ops {
				t.Errorf("ops = %d, want %d", r.Ops, tc.ops)
			}
			if got := r.Level(); got != tc.level {
				t.Errorf("level = %s, want %s (problems %v)", got.Mark(), tc.level.Mark(), r.Problems)
			}
			if got := perOp(r.FileSync, r.Steady); got != tc.file {
				t.Errorf("file syncs = %q, want %q", got, tc.file)
			}
			if got := perOp(r.DirSync, r.Steady); got != tc.dir {
				t.Errorf("directory syncs = %q, want %q", got, tc.dir)
			}
			if tc.problem != "" && (len(r.Problems) == 0 || !strings.Contains(r.Problems[0].Text, tc.problem)) {
				t.Errorf("problems = %v, want one containing %q", r.Problems, tc.problem)
			}
			if tc.noteContain != "" && !strings.Contains(strings.Join(r.Notes, "; "), tc.noteContain) {
				t.Errorf("notes = %v, want %q", r.Notes, tc.noteContain)
			}
		})
	}
}

func TestParseCallPadding(t *testing.T) {
	ev, ok := parseCall(`unlink("/d/x")            = 0`)
	if !ok || ev.failed || ev.path != "/d/x" {
		t.Errorf("got %+v, %v", ev, ok)
	}
	ev, ok = parseCall(`openat(AT_FDCWD</d>, "rel", O_RDONLY) = -1 ENOENT (No such file or directory)`)
	if !ok || !ev.failed {
		t.Errorf("got %+v, %v; want a failed call", ev, ok)
	}
	ev, _ = parseCall(`renameat(AT_FDCWD</d>, "a", AT_FDCWD</e>, "b") = 0`)
	if ev.from != "/d/a" || ev.path != "/e/b" {
		t.Errorf("relative rename resolved to %q → %q", ev.from, ev.path)
	}
}
