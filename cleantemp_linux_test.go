package durable_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"golang.org/x/sys/unix"
)

// CleanTemp decides and removes in one directory. The directory it was
// given is swapped, over and over and atomically, with a link to another
// one that holds a young temp file of the same name as its own old one.
// Whichever directory it opens, it must never remove a file it did not
// find old: the young file elsewhere survives every pass.
func TestCleanTempRacingSwap(t *testing.T) {
	base := t.TempDir()
	sub, outside := filepath.Join(base, "sub"), filepath.Join(base, "outside")
	for _, d := range []string{sub, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const temp = ".app.json.abcdefghijkl.tmp"
	young := filepath.Join(outside, temp)
	if err := os.WriteFile(young, []byte("a write in progress"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(base, "swap")); err != nil {
		t.Fatal(err)
	}
	d, err := os.Open(sub) // ours, wherever its name is
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	putBack := func() {
		fd, err := unix.Openat(int(d.Fd()), temp, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
		if err == nil {
			unix.Close(fd)
			old := unix.NsecToTimespec(time.Unix(1, 0).UnixNano())
			unix.UtimesNanoAt(int(d.Fd()), temp, []unix.Timespec{old, old}, unix.AT_SYMLINK_NOFOLLOW)
		}
	}
	putBack()
	stop := testdir.Repeat(func() bool {
		unix.Renameat2(unix.AT_FDCWD, sub, unix.AT_FDCWD, filepath.Join(base, "swap"), unix.RENAME_EXCHANGE)
		return true
	})
	removed := 0
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		got, _ := durable.CleanTemp(sub, time.Minute)
		removed += len(got)
		if _, err := os.Lstat(young); err != nil {
			stop()
			t.Fatalf("CleanTemp removed a young temp file it had not looked at (after %d removals): %v", removed, err)
		}
		putBack()
	}
	stop()
	t.Logf("%d removals", removed)
	if removed == 0 {
		t.Fatal("CleanTemp never removed its own old temp file: the race was not run against a real removal")
	}
}
