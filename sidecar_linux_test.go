package durable_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/queue"
	"github.com/durable-go/durable/store"
)

// Users and a group that need no account: the kernel takes any number.
const (
	sideUserA = 64123
	sideUserB = 64124
	sideGroup = 64200
)

// TestSidecarHelperProcess is not a test: it is the body of a process that
// another test starts as another user. It updates or locks the file named
// by DURABLE_SIDECAR_PATH and exits 0, or prints the error and exits 1.
func TestSidecarHelperProcess(t *testing.T) {
	role := os.Getenv("DURABLE_SIDECAR_ROLE")
	if role == "" {
		return
	}
	name := os.Getenv("DURABLE_SIDECAR_PATH")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	switch role {
	case "update":
		err = durable.UpdateContext(ctx, name, func(old []byte) ([]byte, error) {
			return append(old, os.Getenv("DURABLE_SIDECAR_MARK")...), nil
		})
	case "lock":
		var l *lock.Held
		if l, err = lock.Lock(ctx, name); err == nil {
			err = l.Unlock()
		}
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runAs runs the helper process as uid with primary group uid and the
// supplementary groups given, under umask 022 (inherited).
func runAs(t *testing.T, bin string, uid int, groups []uint32, role, name, mark string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, testdir.Args("TestSidecarHelperProcess")...)
	cmd.Env = append(os.Environ(), "DURABLE_SIDECAR_ROLE="+role, "DURABLE_SIDECAR_PATH="+name, "DURABLE_SIDECAR_MARK="+mark)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: groups}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s as %d: %v: %s", role, uid, err, out)
	}
	return nil
}

// groupFile makes dir, owned by sideUserA and sideGroup with mode
// dirMode, and in it the empty file shared.txt, A's, which the group may
// read and write (0660).
func groupFile(t *testing.T, dir string, dirMode fs.FileMode) string {
	t.Helper()
	must(t, os.Mkdir(dir, 0o700))
	must(t, os.Chown(dir, sideUserA, sideGroup))
	must(t, os.Chmod(dir, dirMode))
	name := filepath.Join(dir, "shared.txt")
	must(t, os.WriteFile(name, nil, 0o600))
	must(t, os.Chown(name, sideUserA, sideGroup))
	must(t, os.Chmod(name, 0o660))
	return name
}

// TestSidecarGroupMembersShare: member A of a 0660 group file's group
// makes its lock file; member B must still be able to lock and update it
// (issue 16, item 9). A's umask (022) would leave a plain 0600 or 0640
// lock file that B cannot open for writing.
func TestSidecarGroupMembersShare(t *testing.T) {
	needRoot(t)
	base := sharedDir(t, 0o755)
	bin := testBinary(t)
	groups := []uint32{sideGroup}

	t.Run("setgid directory, Update", func(t *testing.T) {
		name := groupFile(t, filepath.Join(base, "sgid"), fs.ModeSetgid|0o770)

		must(t, runAs(t, bin, sideUserA, groups, "update", name, "A"))
		fi, err := os.Lstat(name + lock.Suffix)
		must(t, err)
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0o660 || st.Gid != sideGroup {
			t.Errorf("A's lock file is %v group %d, want -rw-rw---- group %d", fi.Mode(), st.Gid, sideGroup)
		}
		must(t, runAs(t, bin, sideUserB, groups, "update", name, "B"))
		data, err := os.ReadFile(name)
		must(t, err)
		if string(data) != "AB" {
			t.Errorf("file holds %q, want AB", data)
		}
	})

	t.Run("plain directory, lock", func(t *testing.T) {
		// Without setgid the kernel gives a new file its maker's primary
		// group; the lock file must get the data's group all the same.
		name := groupFile(t, filepath.Join(base, "plain"), 0o770)

		must(t, runAs(t, bin, sideUserA, groups, "lock", name, ""))
		fi, err := os.Lstat(name + lock.Suffix)
		must(t, err)
		if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o660 || st.Uid != sideUserA || st.Gid != sideGroup {
			t.Errorf("A's lock file is %v %d:%d, want -rw-rw---- %d:%d", fi.Mode(), st.Uid, st.Gid, sideUserA, sideGroup)
		}
		must(t, runAs(t, bin, sideUserB, groups, "lock", name, ""))
	})

	t.Run("a lock file an older version made", func(t *testing.T) {
		// Older versions made every lock file 0600 with its maker's
		// group: the maker's next lock corrects it.
		name := groupFile(t, filepath.Join(base, "old"), 0o770)
		must(t, os.WriteFile(name+lock.Suffix, nil, 0o600))
		must(t, os.Chown(name+lock.Suffix, sideUserA, sideUserA))

		if err := runAs(t, bin, sideUserB, groups, "lock", name, ""); err == nil {
			t.Fatal("B locked a 0600 lock file of A's: the test sets up nothing")
		}
		must(t, runAs(t, bin, sideUserA, groups, "lock", name, ""))
		must(t, runAs(t, bin, sideUserB, groups, "lock", name, ""))
	})
}

// TestSidecarRootLeavesUserOwner: root working on a user's files (sudo
// durable store set, a root daemon appending to a user's queue) must leave
// every file it creates beside them the user's, so that the user is never
// locked out of their own data (issue 16, item 11); and the user can then
// go on using them.
func TestSidecarRootLeavesUserOwner(t *testing.T) {
	needRoot(t)
	base := sharedDir(t, 0o755)
	bin := testBinary(t)
	home := filepath.Join(base, "home")
	must(t, os.Mkdir(home, 0o700))
	must(t, os.Chown(home, sideUserA, sideUserA))
	userFile := func(name, content string) string {
		p := filepath.Join(home, name)
		must(t, os.WriteFile(p, []byte(content), 0o600))
		must(t, os.Chown(p, sideUserA, sideUserA))
		return p
	}
	userDir := func(name string) string {
		p := filepath.Join(home, name)
		must(t, os.Mkdir(p, 0o700))
		must(t, os.Chown(p, sideUserA, sideUserA))
		return p
	}
	ctx := context.Background()

	// Update, with a .bak.
	plain := userFile("plain.txt", "v1")
	must(t, durable.Update(plain, func(old []byte) ([]byte, error) { return append(old, '+'), nil }))
	must(t, durable.WriteFile(plain, []byte("v3"), 0o600, durable.Backup()))

	// A store with backups, a damaged file kept aside and a recovery.
	doc := userFile("config.json", `{"a":1}`)
	s, err := store.Open[sideDoc](doc, &store.Options[sideDoc]{Backups: 3})
	must(t, err)
	for i := range 4 {
		_, err := s.Update(ctx, func(d *sideDoc) error { d.A = i; return nil })
		must(t, err)
	}
	must(t, os.WriteFile(doc, []byte("{torn"), 0o600))
	s2, err := store.Open[sideDoc](doc, &store.Options[sideDoc]{Backups: 3, OnRecover: func(*store.RecoveredError) {}})
	must(t, err)
	if _, err := s2.Update(ctx, func(d *sideDoc) error { d.B = 1; return nil }); err != nil {
		t.Fatal(err)
	}

	// A journal that needs a second segment, and a queue.
	jdir := userDir("audit")
	j, err := journal.Open(jdir, &journal.Options{SegmentSize: 4096})
	must(t, err)
	for range 20 {
		_, err := j.Append(ctx, make([]byte, 500))
		must(t, err)
	}
	must(t, j.Close())
	qdir := userDir("jobs")
	q, err := queue.Open(qdir, nil)
	must(t, err)
	_, err = q.Push(ctx, []byte("job"))
	must(t, err)
	must(t, q.Close())

	// A JSON Lines file with a torn last line: the cut bytes are kept.
	lines := userFile("events.jsonl", "{\"a\":1}\n{\"b\":")
	f, err := jsonl.Open(lines, nil)
	must(t, err)
	must(t, f.Append(ctx, map[string]int{"c": 3}))
	must(t, f.Close())

	var walked []string
	must(t, filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		walked = append(walked, strings.TrimPrefix(p, home))
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != sideUserA || st.Gid != sideUserA {
			t.Errorf("%s is %d:%d, want the user's %d:%d", p, st.Uid, st.Gid, sideUserA, sideUserA)
		}
		return nil
	}))
	for _, want := range []string{"/plain.txt.lock", "/plain.txt.bak.1", "/config.json.lock", "/config.json.bak.3", "/audit/journal.lock", "/audit/00000000000000000000.seg", "/jobs/journal.lock", "/events.jsonl.lock"} {
		found := false
		for _, w := range walked {
			found = found || w == want
		}
		if !found {
			t.Errorf("%s was not made: the test no longer covers it (made: %v)", want, walked)
		}
	}
	var corrupt, evidence, segs int
	for _, w := range walked {
		switch {
		case strings.Contains(w, ".corrupt."):
			corrupt++
		case strings.HasPrefix(w, "/events.jsonl"+jsonl.EvidenceInfix):
			evidence++
		case strings.HasPrefix(w, "/audit/") && strings.HasSuffix(w, ".seg"):
			segs++
		}
	}
	if corrupt == 0 || evidence == 0 || segs < 2 {
		t.Errorf("made %d damaged copies, %d evidence files, %d segments; the test needs at least 1, 1, 2", corrupt, evidence, segs)
	}

	// And the user carries on.
	must(t, runAs(t, bin, sideUserA, nil, "update", plain, "U"))
	must(t, runAs(t, bin, sideUserA, nil, "update", doc, ""))
	must(t, runAs(t, bin, sideUserA, nil, "lock", filepath.Join(jdir, "journal"), ""))
}
