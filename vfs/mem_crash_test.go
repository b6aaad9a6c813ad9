package vfs_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/durable-go/durable/vfs"
)

func TestCrashUnsyncedWrite(t *testing.T) {
	m, f := openDurable(t, "a", "old", os.O_WRONLY)
	_, err := f.WriteAt([]byte("NEW!"), 0)
	must(t, err)

	if got, _ := content(t, m.Crash(0), "a"); got != "old" {
		t.Errorf("seed 0: a = %q, want the synced %q", got, "old")
	}
	if got, _ := content(t, m.Crash(1), "a"); got != "NEW!" {
		t.Errorf("seed 1: a = %q, want the unsynced %q", got, "NEW!")
	}
	// Crashing leaves m and its open file alone.
	_, err = f.Write([]byte("+"))
	must(t, err)
	if got, _ := content(t, m, "a"); got != "+EW!" {
		t.Errorf("after crash, m has a = %q, want %q", got, "+EW!")
	}

	must(t, f.Sync())
	if got, _ := content(t, m.Crash(0), "a"); got != "+EW!" {
		t.Errorf("seed 0 after Sync: a = %q, want %q", got, "+EW!")
	}
	must(t, f.Close())
}

func TestCrashTruncate(t *testing.T) {
	m, f := openDurable(t, "a", "hello", os.O_RDWR)
	must(t, f.Truncate(2))
	must(t, f.Close())
	if got, _ := content(t, m.Crash(0), "a"); got != "hello" {
		t.Errorf("seed 0: %q, want %q", got, "hello")
	}
	if got, _ := content(t, m.Crash(1), "a"); got != "he" {
		t.Errorf("seed 1: %q, want %q", got, "he")
	}
}

func TestCrashUnsyncedCreate(t *testing.T) {
	m := vfs.NewMem()
	must(t, m.Mkdir("/d", 0o755))
	m.SyncAll()

	writeFileT(t, m, "/d/f", "data")
	syncFile(t, m, "/d/f") // the data is durable, the name is not
	if _, ok := content(t, m.Crash(0), "/d/f"); ok {
		t.Errorf("seed 0: /d/f survived though its directory entry was never synced\n%s", m.Dump())
	}
	if got, _ := content(t, m.Crash(1), "/d/f"); got != "data" {
		t.Errorf("seed 1: /d/f = %q, want %q", got, "data")
	}

	must(t, m.SyncDir("/d"))
	if got, ok := content(t, m.Crash(0), "/d/f"); !ok || got != "data" {
		t.Errorf("seed 0 after SyncDir: /d/f = %q, %v; want %q", got, ok, "data")
	}
}

func TestCrashMkdirNeedsParentSync(t *testing.T) {
	m := vfs.NewMem()
	must(t, m.Mkdir("/d", 0o700))
	writeFileT(t, m, "/d/f", "x")
	syncFile(t, m, "/d/f")
	must(t, m.SyncDir("/d"))
	if _, err := m.Crash(0).Stat("/d"); err == nil {
		t.Error("seed 0: /d survived though / was never synced")
	}
	must(t, m.SyncDir("/"))
	c := m.Crash(0)
	if got, _ := content(t, c, "/d/f"); got != "x" {
		t.Errorf("seed 0 after syncing both directories: /d/f = %q", got)
	}
	if fi, err := c.Stat("/d"); err != nil || fi.Mode() != fs.ModeDir|0o700 {
		t.Errorf("seed 0: /d = %v, %v", fi, err)
	}
}

func TestCrashRenameReverts(t *testing.T) {
	m := memWithDurable(t, "a", "old")

	writeFileT(t, m, "tmp", "new")
	syncFile(t, m, "tmp")
	must(t, m.Rename("tmp", "a"))

	c := m.Crash(0)
	if got, _ := content(t, c, "a"); got != "old" {
		t.Errorf("seed 0 before SyncDir: a = %q, want %q", got, "old")
	}
	if _, ok := content(t, c, "tmp"); ok {
		t.Error("seed 0: tmp exists, but its creation was never synced")
	}
	must(t, m.SyncDir("/"))
	if got, _ := content(t, m.Crash(0), "a"); got != "new" {
		t.Errorf("seed 0 after SyncDir: a = %q, want %q", got, "new")
	}
}

// A rename within one directory is one change: no crash loses both names
// or keeps both.
func TestCrashRenameIsAtomicInOneDirectory(t *testing.T) {
	m := memWithDurable(t, "/a", "x")
	writeFileT(t, m, "/other", "") // an unsynced change before the rename
	must(t, m.Rename("/a", "/b"))
	writeFileT(t, m, "/later", "") // and one after
	seen := map[string]bool{}
	for seed := range uint64(200) {
		c := m.Crash(seed)
		_, errA := c.Stat("/a")
		_, errB := c.Stat("/b")
		if (errA == nil) == (errB == nil) {
			t.Fatalf("seed %d: a %v, b %v: want exactly one name\n%s", seed, errA, errB, c.Dump())
		}
		seen[fmt.Sprint(errA == nil)] = true
	}
	if len(seen) != 2 {
		t.Errorf("seeds kept only one side of the rename: %v", seen)
	}
}

func TestCrashRemoveReverts(t *testing.T) {
	m := memWithDurable(t, "a", "kept")
	must(t, m.Remove("a"))
	if got, _ := content(t, m.Crash(0), "a"); got != "kept" {
		t.Errorf("seed 0: a = %q, want it back as %q", got, "kept")
	}
	if _, ok := content(t, m.Crash(1), "a"); ok {
		t.Error("seed 1: a is back")
	}
}

// The bug durable exists to avoid: the data of the temp file was never
// synced, so the rename made durable by SyncDir publishes an empty file.
func TestCrashRenameWithoutFsyncLosesData(t *testing.T) {
	m := memWithDurable(t, "config", "old")
	must(t, replace(m, "/config", "new contents", true))

	got, ok := content(t, m.Crash(0), "/config")
	if !ok || got != "" {
		t.Fatalf("seed 0: config = %q, %v; want an empty file", got, ok)
	}
	zeros := false
	for seed := uint64(2); seed < 200 && !zeros; seed++ {
		got, _ := content(t, m.Crash(seed), "/config")
		zeros = got == strings.Repeat("\x00", len("new contents"))
	}
	if !zeros {
		t.Error("no seed left the file full of zeros")
	}
}

// TestCrashEveryStep crashes the replace protocol after every step with
// many seeds. Done right, every state holds the old or the new content; with
// the temp fsync left out, some state must hold neither, or the model could
// not catch the bug.
func TestCrashEveryStep(t *testing.T) {
	for _, skipFsync := range []bool{false, true} {
		t.Run(fmt.Sprintf("skipFsync=%v", skipFsync), func(t *testing.T) {
			m := memWithDurable(t, "/config", "old")
			var bad []string
			steps := 0
			m.SetHook(func(op vfs.Op, name string) {
				steps++
				for seed := range uint64(64) {
					c := m.Crash(seed)
					got, ok := content(t, c, "/config")
					if !ok || got != "old" && got != "new contents" {
						bad = append(bad, fmt.Sprintf("after %v %s, seed %d: %q", op, name, seed, got))
					}
				}
			})
			must(t, replace(m, "/config", "new contents", skipFsync))
			if got, _ := content(t, m.Crash(0), "/config"); got != "new contents" && !skipFsync {
				t.Errorf("after the replace returned, seed 0 has %q", got)
			}
			if steps < 4 {
				t.Errorf("hook ran %d times, want one per step", steps)
			}
			switch {
			case skipFsync && len(bad) == 0:
				t.Error("no crash state shows the missing fsync")
			case !skipFsync && len(bad) > 0:
				t.Errorf("%d bad states, first: %s", len(bad), bad[0])
			}
		})
	}
}

// TestCrashOutcomes checks that the seeds reach every outcome Crash
// documents, for file data and for directory entries, under each
// directory-ordering profile.
func TestCrashOutcomes(t *testing.T) {
	const data = "hello world"
	for _, order := range vfs.DirOrders() {
		t.Run(order.String(), func(t *testing.T) {
			m := vfs.NewMem()
			m.SetCrashModel(vfs.CrashModel{Dirs: order})
			writeFileT(t, m, "/f", "")
			for _, name := range []string{"/d1", "/d2", "/d3"} {
				must(t, m.Mkdir(name, 0o755))
			}
			m.SyncAll()
			f, err := m.OpenFile("/f", os.O_WRONLY, 0)
			must(t, err)
			_, err = f.Write([]byte(data))
			must(t, err)
			must(t, f.Close())
			writeFileT(t, m, "/new1", "")
			writeFileT(t, m, "/new2", "")
			must(t, m.Remove("/d1"))

			outcomes := map[string]int{}
			entries := map[string]int{}
			for seed := range uint64(400) {
				c := m.Crash(seed)
				got, _ := content(t, c, "/f")
				switch {
				case got == "":
					outcomes["lost"]++
				case got == data:
					outcomes["kept"]++
				case got == strings.Repeat("\x00", len(data)):
					outcomes["zeros"]++
				case strings.HasPrefix(data, got):
					outcomes["torn"]++
				default:
					t.Fatalf("seed %d: impossible content %q", seed, got)
				}
				var names []string
				for _, n := range []string{"/new1", "/new2", "/d1"} {
					if _, err := c.Lstat(n); err == nil {
						names = append(names, n)
					}
				}
				key := strings.Join(names, " ")
				entries[key]++
				switch key {
				case "/d1", "/new1 /d1", "/new1 /new2 /d1", "/new1 /new2":
				default:
					if order == vfs.DirsOrdered {
						t.Fatalf("seed %d: %q is not a prefix of the directory's changes", seed, key)
					}
				}
			}
			for _, o := range []string{"lost", "kept", "zeros", "torn"} {
				if outcomes[o] == 0 {
					t.Errorf("no seed gave outcome %q (got %v)", o, outcomes)
				}
			}
			// Ordered: the 4 prefixes; POSIX: all 8 subsets.
			if want := map[vfs.DirOrder]int{vfs.DirsOrdered: 4, vfs.DirsPOSIX: 8}[order]; len(entries) != want {
				t.Errorf("directory states seen: %v, want %d", entries, want)
			}
		})
	}
}

func TestCrashPrefixOfWrites(t *testing.T) {
	m, f := openDurable(t, "/log", "", os.O_WRONLY|os.O_APPEND)
	for _, rec := range []string{"one\n", "two\n", "three\n"} {
		_, err := f.Write([]byte(rec))
		must(t, err)
	}
	must(t, f.Close())
	full := "one\ntwo\nthree\n"
	seen := map[string]bool{}
	for seed := range uint64(300) {
		got, _ := content(t, m.Crash(seed), "/log")
		// All in one block: the block is old (zeros past the old size)
		// or new, cut at a size the file had.
		zeroed := strings.Trim(got, "\x00") == "" && slices.Contains([]int{0, 4, 8, len(full)}, len(got))
		if !strings.HasPrefix(full, got) && !zeroed {
			t.Fatalf("seed %d: %q is neither a prefix of the appends nor zeros", seed, got)
		}
		seen[got] = true
	}
	for _, want := range []string{"", "one\n", "one\ntwo\n", full, "\x00\x00\x00\x00"} {
		if !seen[want] {
			t.Errorf("no seed kept exactly %q", want)
		}
	}
}

func TestCrashDeterministic(t *testing.T) {
	build := func() *vfs.MemFS {
		m := vfs.NewMem()
		must(t, m.Mkdir("/a", 0o755))
		writeFileT(t, m, "/a/x", "x1")
		m.SyncAll()
		for i := range 5 {
			writeFileT(t, m, fmt.Sprintf("/a/f%d", i), strings.Repeat("y", 10*i))
			must(t, m.Mkdir(fmt.Sprintf("/d%d", i), 0o755))
		}
		writeFileT(t, m, "/a/x", "x2 longer")
		must(t, m.Rename("/a/f1", "/d0/f1"))
		must(t, m.Link("/a/f2", "/d1/f2"))
		must(t, m.Symlink("a/x", "/lx"))
		return m
	}
	m1, m2 := build(), build()
	states := map[string]bool{}
	for seed := range uint64(100) {
		s1 := tree(t, m1.Crash(seed), "/")
		if s2 := tree(t, m1.Crash(seed), "/"); s1 != s2 {
			t.Fatalf("seed %d: two crashes differ:\n%s\n---\n%s", seed, s1, s2)
		}
		if s2 := tree(t, m2.Crash(seed), "/"); s1 != s2 {
			t.Fatalf("seed %d: same history, different crash:\n%s\n---\n%s", seed, s1, s2)
		}
		states[s1] = true
	}
	if len(states) < 20 {
		t.Errorf("100 seeds gave only %d distinct states", len(states))
	}
	if got, want := tree(t, m1.Crash(1), "/"), tree(t, m1, "/"); got != want {
		t.Errorf("seed 1 differs from the current state:\n%s\n---\n%s", got, want)
	}
	// A crash result is fully durable: crashing it again changes nothing.
	for seed := range uint64(20) {
		c := m1.Crash(seed)
		if got, want := tree(t, c.Crash(0), "/"), tree(t, c, "/"); got != want {
			t.Errorf("seed %d: crashing the result again lost data:\n%s\n---\n%s", seed, got, want)
		}
	}
}

func TestCrashHardLinksStayShared(t *testing.T) {
	m := vfs.NewMem()
	writeFileT(t, m, "/a", "shared")
	must(t, m.Link("/a", "/b"))
	for seed := range uint64(50) {
		c := m.Crash(seed)
		fa, errA := c.Stat("/a")
		fb, errB := c.Stat("/b")
		if errA != nil || errB != nil {
			continue
		}
		sa, sb := fa.Sys().(*vfs.MemStat), fb.Sys().(*vfs.MemStat)
		if sa.Ino != sb.Ino || sa.Nlink != 2 {
			t.Fatalf("seed %d: a %+v, b %+v: want one inode with two names", seed, sa, sb)
		}
		f, err := c.OpenFile("/a", os.O_WRONLY|os.O_TRUNC, 0)
		must(t, err)
		must(t, f.Close())
		if got, _ := content(t, c, "/b"); got != "" {
			t.Fatalf("seed %d: truncating a left b = %q", seed, got)
		}
	}
}

func TestCrashModeNeedsSync(t *testing.T) {
	m, f := openDurable(t, "/a", "x", os.O_RDONLY)
	must(t, f.Chmod(0o600))
	must(t, f.Chown(7, 8))
	check := func(c *vfs.MemFS, mode fs.FileMode, uid int) {
		t.Helper()
		fi, err := c.Stat("/a")
		must(t, err)
		if u, _, _ := vfs.Owner(fi); fi.Mode() != mode || u != uid {
			t.Errorf("mode %v owner %d, want %v %d", fi.Mode(), u, mode, uid)
		}
	}
	check(m.Crash(0), 0o644, 0)
	check(m.Crash(1), 0o600, 7)
	must(t, f.Sync())
	check(m.Crash(0), 0o600, 7)
	must(t, f.Close())
}

func TestCrashOSync(t *testing.T) {
	m, f := openDurable(t, "/a", "", os.O_WRONLY|os.O_SYNC)
	_, err := f.Write([]byte("sync"))
	must(t, err)
	if got, _ := content(t, m.Crash(0), "/a"); got != "sync" {
		t.Errorf("O_SYNC write lost: %q", got)
	}
	must(t, f.Close())
}

func TestCrashDirectorySyncThroughFile(t *testing.T) {
	m := vfs.NewMem()
	writeFileT(t, m, "/a", "x")
	syncFile(t, m, "/a")
	syncFile(t, m, "/") // fsync of the directory opened read-only
	if got, _ := content(t, m.Crash(0), "/a"); got != "x" {
		t.Errorf("File.Sync on the directory did not make its entry durable: %q", got)
	}
}

// A directory moved between two directories, neither synced, may be left
// with two names or none, even in a cycle; the crash must still give a
// tree in which each directory has one name.
func TestCrashDirectoryRenameAcrossDirectories(t *testing.T) {
	m := vfs.NewMem()
	must(t, m.Mkdir("/a", 0o755))
	must(t, m.Mkdir("/b", 0o755))
	m.SyncAll()
	must(t, m.Rename("/b", "/a/b"))
	must(t, m.Rename("/a/b", "/b"))
	must(t, m.Rename("/a", "/b/a")) // an unlucky crash could make a and b contain each other
	shapes := map[string]bool{}
	for seed := range uint64(300) {
		c := m.Crash(seed)
		seen := map[uint64]string{}
		var walk func(dir string)
		walk = func(dir string) {
			list, err := c.ReadDir(dir)
			must(t, err)
			for _, d := range list {
				p := strings.TrimSuffix(dir, "/") + "/" + d.Name()
				fi, err := d.Info()
				must(t, err)
				ino := fi.Sys().(*vfs.MemStat).Ino
				if prev, dup := seen[ino]; dup {
					t.Fatalf("seed %d: directory named %s and %s\n%s", seed, prev, p, c.Dump())
				}
				seen[ino] = p
				walk(p)
			}
		}
		walk("/")
		shapes[c.Dump()] = true
	}
	if len(shapes) < 3 {
		t.Errorf("only %d shapes", len(shapes))
	}
}

func TestSyncAll(t *testing.T) {
	m := vfs.NewMem()
	must(t, m.Mkdir("/d", 0o755))
	writeFileT(t, m, "/d/f", "x")
	must(t, m.Symlink("d/f", "/l"))
	must(t, m.Link("/d/f", "/g"))
	want := tree(t, m, "/")
	if !strings.Contains(m.Dump(), "not synced") {
		t.Errorf("Dump shows nothing unsynced before SyncAll:\n%s", m.Dump())
	}
	m.SyncAll()
	if strings.Contains(m.Dump(), "not synced") {
		t.Errorf("Dump shows unsynced state after SyncAll:\n%s", m.Dump())
	}
	if got := tree(t, m.Crash(0), "/"); got != want {
		t.Errorf("seed 0 after SyncAll:\n%s\nwant\n%s", got, want)
	}
}

func TestCrashLargeFile(t *testing.T) {
	m := vfs.NewMem()
	big := bytes.Repeat([]byte("z"), 64<<10)
	must(t, vfs.WriteFile(m, "/big", big, 0o644))
	m.SyncAll()
	for seed := range uint64(50) {
		got, _ := content(t, m.Crash(seed), "/big")
		if len(got) != len(big) {
			t.Fatalf("seed %d: size %d", seed, len(got))
		}
	}
}
