package durable_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable"
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
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			unix.Renameat2(unix.AT_FDCWD, sub, unix.AT_FDCWD, filepath.Join(base, "swap"), unix.RENAME_EXCHANGE)
		}
	}()
	removed := 0
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		got, _ := durable.CleanTemp(sub, time.Minute)
		removed += len(got)
		if _, err := os.Lstat(young); err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("CleanTemp removed a young temp file it had not looked at (after %d removals): %v", removed, err)
		}
		putBack()
	}
	close(stop)
	wg.Wait()
	t.Logf("%d removals", removed)
	if removed == 0 {
		t.Fatal("CleanTemp never removed its own old temp file: the race was not run against a real removal")
	}
}
