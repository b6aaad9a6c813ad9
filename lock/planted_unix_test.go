//go:build unix

package lock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/errs"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// bounded runs fn and fails the test if it has not returned within d: a
// FIFO planted where a lock file goes must never make a lock hang.
func bounded(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still waiting after %v: hung", d)
	}
}

// TestPlantedLockFile plants, at name.lock, what another user could put in
// a shared directory, and takes the lock every way there is: each must
// fail at once with an error that names the lock file and wraps
// ErrUnsafeFile, and nothing outside may be created, changed or locked.
func TestPlantedLockFile(t *testing.T) {
	ways := map[string]func(name string) error{
		"Lock": func(name string) error {
			l, err := Lock(context.Background(), name)
			if err == nil {
				l.Unlock()
			}
			return err
		},
		"RLock": func(name string) error {
			l, err := RLock(context.Background(), name)
			if err == nil {
				l.Unlock()
			}
			return err
		},
		"TryLock": func(name string) error {
			l, err := TryLock(name)
			if err == nil {
				l.Unlock()
			}
			return err
		},
		"TryRLock": func(name string) error {
			l, err := TryRLock(name)
			if err == nil {
				l.Unlock()
			}
			return err
		},
		"Mutex": func(name string) error {
			m := New(vfs.OS{}, name)
			defer m.Close()
			l, err := m.Lock(context.Background())
			if err == nil {
				l.Unlock()
			}
			return err
		},
	}
	plants := map[string]func(t *testing.T, lockPath, outside string){
		"dangling symlink": func(t *testing.T, lockPath, outside string) {
			must(t, os.Symlink(outside, lockPath))
		},
		"symlink to a file": func(t *testing.T, lockPath, outside string) {
			must(t, os.WriteFile(outside, []byte("precious"), 0o644))
			must(t, os.Symlink(outside, lockPath))
		},
		"hard link": func(t *testing.T, lockPath, outside string) {
			must(t, os.WriteFile(outside, []byte("precious"), 0o644))
			must(t, os.Link(outside, lockPath))
		},
		"FIFO": func(t *testing.T, lockPath, outside string) {
			must(t, syscall.Mkfifo(lockPath, 0o666))
		},
		"directory": func(t *testing.T, lockPath, outside string) {
			must(t, os.Mkdir(lockPath, 0o755))
		},
	}
	for way, take := range ways {
		for plant, setup := range plants {
			t.Run(way+"/"+plant, func(t *testing.T) {
				dir, out := testdir.New(t), testdir.New(t)
				name := filepath.Join(dir, "state.json")
				outside := filepath.Join(out, "nologin")
				setup(t, name+Suffix, outside)
				before, _ := os.Lstat(outside)
				var err error
				bounded(t, 10*time.Second, func() { err = take(name) })
				if !errors.Is(err, errs.ErrUnsafeFile) {
					t.Fatalf("got %v, want an error wrapping ErrUnsafeFile", err)
				}
				if want := name + Suffix; !contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
				after, aerr := os.Lstat(outside)
				switch {
				case before == nil && aerr == nil:
					t.Errorf("%s was created through the planted lock file", outside)
				case before != nil && (after.Mode() != before.Mode() || after.Size() != before.Size()):
					t.Errorf("%s changed: %v %d, was %v %d", outside, after.Mode(), after.Size(), before.Mode(), before.Size())
				}
				if before != nil {
					// Nobody holds a lock on the outside file.
					f, err := os.OpenFile(outside, os.O_RDWR, 0)
					must(t, err)
					defer f.Close()
					if err := (osLocker{}).tryLock(f, true); err != nil {
						t.Errorf("the outside file is locked: %v", err)
					}
				}
			})
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestLockFileFollowsData: a lock file made for an existing file gets the
// read and write bits that file grants, exactly (umask or not), so that
// whoever may write the file may lock it; a lock file made before its file
// exists gets those its directory grants writers.
func TestLockFileFollowsData(t *testing.T) {
	for _, tc := range []struct {
		data, dir, want os.FileMode
	}{
		{data: 0o600, dir: 0o700, want: 0o600},
		{data: 0o660, dir: 0o700, want: 0o660},
		{data: 0o640, dir: 0o700, want: 0o640},
		{data: 0o644, dir: 0o755, want: 0o644},
		{data: 0o620, dir: 0o700, want: 0o660},
		{data: 0o400, dir: 0o700, want: 0o600},
		{data: 0, dir: 0o700, want: 0o600},
		{data: 0, dir: 0o770, want: 0o660},
		{data: 0, dir: 0o755, want: 0o600},
		{data: 0, dir: os.ModeSticky | 0o777, want: 0o600},
	} {
		dir := filepath.Join(testdir.New(t), "d")
		must(t, os.Mkdir(dir, 0o700))
		must(t, os.Chmod(dir, tc.dir))
		name := filepath.Join(dir, "state.json")
		if tc.data != 0 {
			must(t, os.WriteFile(name, nil, 0o600))
			must(t, os.Chmod(name, tc.data))
		}
		l, err := Lock(context.Background(), name)
		must(t, err)
		must(t, l.Unlock())
		fi, err := os.Lstat(name + Suffix)
		must(t, err)
		if got := fi.Mode().Perm(); got != tc.want {
			t.Errorf("file %v in directory %v: lock file %v, want %v", tc.data, tc.dir, got, tc.want)
		}
	}
}

// TestLockFileCorrected: a lock file the caller owns, made 0600 by an
// older version or before its file existed, is given the file's bits when
// next opened, so that the group can lock too; one someone else owns is
// left alone.
func TestLockFileCorrected(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "state.json")
	must(t, os.WriteFile(name, nil, 0o600))
	must(t, os.Chmod(name, 0o660))
	must(t, os.WriteFile(name+Suffix, nil, 0o600))
	l, err := Lock(context.Background(), name)
	must(t, err)
	must(t, l.Unlock())
	fi, err := os.Lstat(name + Suffix)
	must(t, err)
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("lock file %v after an open, want -rw-rw----", fi.Mode())
	}

	if os.Geteuid() != 0 {
		return
	}
	// As root: someone else's lock file is theirs to keep.
	must(t, os.Chown(name+Suffix, 64123, 64123))
	must(t, os.Chmod(name+Suffix, 0o600))
	l, err = Lock(context.Background(), name)
	must(t, err)
	must(t, l.Unlock())
	fi, err = os.Lstat(name + Suffix)
	must(t, err)
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o600 || st.Uid != 64123 {
		t.Errorf("someone else's lock file changed: %v uid %d", fi.Mode(), st.Uid)
	}
}
