package vfs_test

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// appended8K is a synced 100-byte file with one unsynced 8 KiB append.
func appended8K(t *testing.T) (*vfs.MemFS, []byte) {
	t.Helper()
	m := vfs.NewMem()
	old := bytes.Repeat([]byte("o"), 100)
	writeFileT(t, m, "/log", string(old))
	m.SyncAll()
	f, err := m.OpenFile("/log", os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	add := make([]byte, 8192)
	for i := range add {
		add[i] = 'a' + byte(i/4096) // block 1 of the append is "a", block 2 "b"
	}
	_, err = f.Write(add)
	must(t, err)
	must(t, f.Close())
	return m, append(old, add...)
}

// laterKeptEarlierLost reports whether d keeps the end of the append (its
// second 4 KiB page of file offsets 4096-8191 holds "b") while a page
// before it is lost (zeros).
func laterKeptEarlierLost(d []byte) bool {
	if len(d) < 8192 {
		return false
	}
	return bytes.Count(d[4096:8192], []byte("b")) > 0 && bytes.Count(d[100:4096], []byte{0}) == 4096-100
}

// The heart of the block model: out-of-order writeback keeps a later block
// of a write and loses an earlier one.
func TestCrashLaterBlockKeptEarlierLost(t *testing.T) {
	m, full := appended8K(t)
	sampled := 0
	for seed := range uint64(400) {
		d, _ := content(t, m.Crash(seed), "/log")
		if laterKeptEarlierLost([]byte(d)) {
			sampled++
		}
		if len(d) > len(full) {
			t.Fatalf("seed %d: %d bytes, more than the file ever had", seed, len(d))
		}
	}
	if sampled == 0 {
		t.Error("in 400 seeds no crash kept a later block of the append while losing an earlier one")
	}
	enumerated := 0
	n, all := m.CrashStates(100000, func(c *vfs.MemFS) bool {
		d, _ := content(t, c, "/log")
		if laterKeptEarlierLost([]byte(d)) {
			enumerated++
		}
		return true
	})
	if enumerated == 0 {
		t.Errorf("none of the %d enumerated states (all: %v) keeps a later block and loses an earlier one", n, all)
	}
	t.Logf("sampled: %d of 400 seeds; enumerated: %d of %d states", sampled, enumerated, n)
}

// Every block state is made of the old and the new content, block by block,
// cut at a size the file had.
func TestCrashBlocksAreOldOrNew(t *testing.T) {
	m, full := appended8K(t)
	sizes := []int{100, len(full)}
	oldPadded := append(bytes.Repeat([]byte("o"), 100), make([]byte, 8192)...)
	for seed := range uint64(300) {
		d, _ := content(t, m.Crash(seed), "/log")
		if !slices.Contains(sizes, len(d)) && !bytes.HasPrefix(full, []byte(d)) {
			t.Fatalf("seed %d: size %d is none the file had, and not a torn prefix", seed, len(d))
		}
		for i := 0; i < len(d); i += 512 {
			e := min(i+512, len(d))
			blk := []byte(d[i:e])
			if !bytes.Equal(blk, full[i:e]) && !bytes.Equal(blk, oldPadded[i:e]) {
				t.Fatalf("seed %d: the 512-byte block at %d is neither old nor new: %q", seed, i, blk)
			}
		}
	}
}

// The size may stop at any size the file had since its last sync.
func TestCrashSizeInBetween(t *testing.T) {
	m, f := openDurable(t, "/f", "", os.O_WRONLY|os.O_APPEND)
	for range 3 {
		_, err := f.Write(bytes.Repeat([]byte("x"), 1000))
		must(t, err)
	}
	must(t, f.Close())
	sizes := map[int]bool{}
	m.CrashStates(10000, func(c *vfs.MemFS) bool {
		d, _ := content(t, c, "/f")
		sizes[len(d)] = true
		return true
	})
	for _, want := range []int{0, 1000, 2000, 3000} {
		if !sizes[want] {
			t.Errorf("no state has size %d (sizes seen: %v)", want, sizes)
		}
	}
}

// Garbage is opt-in and limited to the bytes a write touched.
func TestCrashGarbageOnlyWhereWritten(t *testing.T) {
	old := bytes.Repeat([]byte("o"), 2000)
	for _, garbage := range []bool{false, true} {
		m := vfs.NewMem()
		m.SetCrashModel(vfs.CrashModel{Garbage: garbage})
		writeFileT(t, m, "/f", string(old))
		m.SyncAll()
		f, err := m.OpenFile("/f", os.O_WRONLY, 0)
		must(t, err)
		_, err = f.WriteAt(bytes.Repeat([]byte("n"), 100), 600)
		must(t, err)
		must(t, f.Close())
		found := 0
		check := func(d string) {
			if len(d) != len(old) {
				t.Fatalf("size %d, want %d", len(d), len(old))
			}
			if d[:600] != string(old[:600]) || d[700:] != string(old[700:]) {
				t.Fatalf("garbage=%v: bytes no write touched changed", garbage)
			}
			if strings.Trim(d[600:700], "on\x00") != "" {
				found++
			}
		}
		for seed := range uint64(200) {
			d, _ := content(t, m.Crash(seed), "/f")
			check(d)
		}
		m.CrashStates(1000, func(c *vfs.MemFS) bool {
			d, _ := content(t, c, "/f")
			check(d)
			return true
		})
		if garbage != (found > 0) {
			t.Errorf("garbage=%v: %d states hold garbage", garbage, found)
		}
	}
}

// "ordered" keeps a rename between directories whole; "POSIX" may keep
// either half.
func TestCrashRenameAcrossDirectoriesByProfile(t *testing.T) {
	for _, order := range vfs.DirOrders() {
		m := vfs.NewMem()
		m.SetCrashModel(vfs.CrashModel{Dirs: order})
		must(t, m.Mkdir("/a", 0o755))
		must(t, m.Mkdir("/b", 0o755))
		writeFileT(t, m, "/a/f", "data")
		m.SyncAll()
		must(t, m.Rename("/a/f", "/b/f"))
		states := map[string]bool{}
		n, all := m.CrashStates(100, func(c *vfs.MemFS) bool {
			_, inA := content(t, c, "/a/f")
			_, inB := content(t, c, "/b/f")
			states[map[bool]string{true: "a", false: "-"}[inA]+map[bool]string{true: "b", false: "-"}[inB]] = true
			return true
		})
		if !all {
			t.Fatalf("%v: %d states and not all of them", order, n)
		}
		want := map[vfs.DirOrder][]string{vfs.DirsOrdered: {"a-", "-b"}, vfs.DirsPOSIX: {"a-", "-b", "ab", "--"}}[order]
		if len(states) != len(want) {
			t.Errorf("%v: states %v, want %v", order, states, want)
		}
		for _, w := range want {
			if !states[w] {
				t.Errorf("%v: no state %q among %v", order, w, states)
			}
		}
	}
}

// "ordered" keeps a global prefix: a change in one directory never
// survives an earlier change in another.
func TestCrashOrderedIsGlobal(t *testing.T) {
	m := vfs.NewMem()
	m.SetCrashModel(vfs.CrashModel{Dirs: vfs.DirsOrdered})
	must(t, m.Mkdir("/a", 0o755))
	must(t, m.Mkdir("/b", 0o755))
	m.SyncAll()
	writeFileT(t, m, "/a/first", "")
	writeFileT(t, m, "/b/second", "")
	for seed := range uint64(200) {
		c := m.Crash(seed)
		_, first := content(t, c, "/a/first")
		_, second := content(t, c, "/b/second")
		if second && !first {
			t.Fatalf("seed %d: the later create survived the earlier one", seed)
		}
	}
}

// Datasync makes data durable, not mode and owner.
func TestCrashDatasyncLeavesMetadata(t *testing.T) {
	m, f := openDurable(t, "/f", "old", os.O_RDWR)
	must(t, f.Chmod(0o600))
	must(t, f.Chown(7, 8))
	_, err := f.WriteAt([]byte("new"), 0)
	must(t, err)
	must(t, vfs.Datasync(f))
	c := m.Crash(0)
	if got, _ := content(t, c, "/f"); got != "new" {
		t.Errorf("after Datasync the data is %q, want %q", got, "new")
	}
	fi, err := c.Stat("/f")
	must(t, err)
	if uid, _, _ := vfs.Owner(fi); fi.Mode().Perm() == 0o600 || uid == 7 {
		t.Errorf("Datasync made mode %v and owner %d durable", fi.Mode(), uid)
	}
	must(t, f.Sync())
	fi, err = m.Crash(0).Stat("/f")
	must(t, err)
	if uid, _, _ := vfs.Owner(fi); fi.Mode().Perm() != 0o600 || uid != 7 {
		t.Errorf("after Sync mode %v owner %d, want 0600 and 7", fi.Mode(), uid)
	}
	must(t, f.Close())
}

// CrashStates enumerates: the states are distinct, include what seeds 0
// and 1 give, cover what sampling finds, and stop at the limit.
func TestCrashStatesEnumerates(t *testing.T) {
	build := func() *vfs.MemFS {
		m := vfs.NewMem()
		must(t, m.Mkdir("/d", 0o755))
		writeFileT(t, m, "/d/x", "x1")
		m.SyncAll()
		writeFileT(t, m, "/d/x", "x2!")
		writeFileT(t, m, "/d/y", "y")
		must(t, m.Rename("/d/y", "/d/z"))
		return m
	}
	for _, order := range vfs.DirOrders() {
		m := build()
		m.SetCrashModel(vfs.CrashModel{Dirs: order})
		states := map[string]bool{}
		n, all := m.CrashStates(10000, func(c *vfs.MemFS) bool {
			s := tree(t, c, "/")
			if states[s] {
				t.Errorf("%v: state given twice:\n%s", order, s)
			}
			states[s] = true
			return true
		})
		if !all || n != len(states) {
			t.Fatalf("%v: n %d, all %v, %d states", order, n, all, len(states))
		}
		for seed := range uint64(300) {
			if s := tree(t, m.Crash(seed), "/"); !states[s] {
				t.Errorf("%v: seed %d gives a state the enumeration missed:\n%s", order, seed, s)
			}
		}
		again, _ := build(), 0
		again.SetCrashModel(vfs.CrashModel{Dirs: order})
		if n2, _ := again.CrashStates(10000, func(*vfs.MemFS) bool { return true }); n2 != n {
			t.Errorf("%v: the same history gave %d states, then %d", order, n, n2)
		}
		if k, all := m.CrashStates(n-1, func(*vfs.MemFS) bool { return true }); k > n-1 || all {
			t.Errorf("%v: limit %d gave %d states, all %v", order, n-1, k, all)
		}
		t.Logf("%v: %d states", order, n)
	}
}
