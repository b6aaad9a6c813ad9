package lock

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/errs"
)

func isLocked(err error) bool { return errors.Is(err, ErrLocked) }

func mustLock(t *testing.T, name string) *Held {
	t.Helper()
	return mustHeld(t)(Lock(context.Background(), name))
}

func mustRLock(t *testing.T, name string) *Held {
	t.Helper()
	return mustHeld(t)(RLock(context.Background(), name))
}

// mustHeld returns a function that passes on the lock a call returned, failing
// the test if the call failed.
func mustHeld(t *testing.T) func(*Held, error) *Held {
	return func(l *Held, err error) *Held {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
}

func mustUnlock(t *testing.T, l *Held) {
	t.Helper()
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// wantLocked checks that err reports contention on name's sidecar.
func wantLocked(t *testing.T, what string, err error, name string) {
	t.Helper()
	if !isLocked(err) {
		t.Fatalf("%s: got %v, want an error wrapping ErrLocked", what, err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != name+Suffix {
		t.Fatalf("%s: %v is not a *fs.PathError on %s", what, err, name+Suffix)
	}
}

// wantOther checks that a TryLock ("try") or TryRLock ("tryr") of name
// in another process gets want ("ok" or "locked").
func wantOther(t *testing.T, role, name, want, when string) {
	t.Helper()
	if got := runHelper(t, role, name); got != want {
		call := "TryLock"
		if role == "tryr" {
			call = "TryRLock"
		}
		t.Fatalf("%s in another process %s: %q, want %s", call, when, got, want)
	}
}

// waitReleased waits up to a second for name's lock to be free (the
// kernel releases a dead holder's locks as it tears the process down),
// and fails the test if it is not.
func waitReleased(t *testing.T, name, what string) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		l, err := TryLock(name)
		if err == nil {
			mustUnlock(t, l)
			return
		}
		if !isLocked(err) || time.Now().After(deadline) {
			t.Fatalf("%s: not released within 1s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkRegistryEmpty checks that every in-process entry was released. A
// wait abandoned by its caller keeps its entry until the kernel's lock call
// returns and the waiter gives the lock back, which happens after the
// holder releases, on the waiter's own goroutine: give that a few seconds
// (a slow machine or Wine), then report what is still held.
func checkRegistryEmpty(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		registry.mu.Lock()
		n := len(registry.m)
		if n == 0 || time.Now().After(deadline) {
			for k, e := range registry.m {
				t.Errorf("registry still holds %s (refs %d)", k, e.refs)
			}
			registry.mu.Unlock()
			return
		}
		registry.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSentinelsAreShared(t *testing.T) {
	if ErrLocked != errs.ErrLocked || ErrClosed != errs.ErrClosed {
		t.Fatal("lock's sentinels are not the shared ones from internal/errs")
	}
}

func TestTryLockContention(t *testing.T) {
	name := tempName(t)

	l := mustLock(t, name)
	_, err := TryLock(name)
	wantLocked(t, "TryLock while locked", err, name)
	_, err = TryRLock(name)
	wantLocked(t, "TryRLock while locked", err, name)
	mustUnlock(t, l)

	r1 := mustRLock(t, name)
	r2, err := TryRLock(name)
	if err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	_, err = TryLock(name)
	wantLocked(t, "TryLock while read-locked", err, name)
	mustUnlock(t, r1)
	_, err = TryLock(name)
	wantLocked(t, "TryLock while one reader remains", err, name)
	mustUnlock(t, r2)

	l, err = TryLock(name)
	if err != nil {
		t.Fatalf("TryLock when free: %v", err)
	}
	mustUnlock(t, l)
	checkRegistryEmpty(t)
}

// The file lock must exclude descriptors within one process too: that is
// what makes it hold when the in-process registry is bypassed (two paths to
// one file) and what classic fcntl locks get wrong.
func TestFileLockExcludesOtherDescriptorsInProcess(t *testing.T) {
	path := tempName(t) + Suffix
	open2 := func(exclusive bool) *os.File {
		f, err := open(path, exclusive)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b := open2(true), open2(true)
	if err := (osLocker{}).tryLock(a, true); err != nil {
		t.Fatal(err)
	}
	if err := (osLocker{}).tryLock(b, true); !isLocked(err) {
		t.Fatalf("exclusive lock through a second descriptor: got %v, want ErrLocked", err)
	}
	if err := (osLocker{}).tryLock(b, false); !isLocked(err) {
		t.Fatalf("shared lock through a second descriptor: got %v, want ErrLocked", err)
	}
	if err := (osLocker{}).unlock(a); err != nil {
		t.Fatal(err)
	}
	r1, r2 := open2(false), open2(false)
	for _, f := range []*os.File{r1, r2} {
		if err := (osLocker{}).tryLock(f, false); err != nil {
			t.Fatalf("shared locks must coexist: %v", err)
		}
	}
	if err := (osLocker{}).tryLock(b, true); !isLocked(err) {
		t.Fatalf("exclusive lock under shared ones: got %v, want ErrLocked", err)
	}
}

func TestCrossProcessContention(t *testing.T) {
	name := tempName(t)

	l := mustLock(t, name)
	wantOther(t, "try", name, "locked", "while we hold it")
	wantOther(t, "tryr", name, "locked", "while we hold it")
	mustUnlock(t, l)

	r := mustRLock(t, name)
	wantOther(t, "tryr", name, "ok", "while we read-lock")
	wantOther(t, "try", name, "locked", "while we read-lock")
	mustUnlock(t, r)
	wantOther(t, "try", name, "ok", "after we unlocked")

	h := startHelper(t, "hold", name)
	h.expect("locked")
	_, err := TryLock(name)
	wantLocked(t, "TryLock while another process holds it", err, name)
	_, err = TryRLock(name)
	wantLocked(t, "TryRLock while another process holds it", err, name)
	h.stop()
	l, err = TryLock(name)
	if err != nil {
		t.Fatalf("TryLock after the other process unlocked: %v", err)
	}
	mustUnlock(t, l)

	h = startHelper(t, "rhold", name)
	h.expect("locked")
	r, err = TryRLock(name)
	if err != nil {
		t.Fatalf("TryRLock while another process read-locks: %v", err)
	}
	mustUnlock(t, r)
	_, err = TryLock(name)
	wantLocked(t, "TryLock while another process read-locks", err, name)
	h.stop()
	checkRegistryEmpty(t)
}

// Classic fcntl locks vanish when the process closes any descriptor for the
// file; ours must not.
func TestClosingAnotherDescriptorKeepsLock(t *testing.T) {
	name := tempName(t)
	if err := os.WriteFile(name, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := mustLock(t, name)
	defer mustUnlock(t, l)
	for _, p := range []string{name + Suffix, name} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	wantOther(t, "try", name, "locked", "after closing another descriptor for the sidecar")
}

func TestKilledHolderReleasesLock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows releases a dead process's locks when the system gets to it, not at once")
	}
	name := tempName(t)
	h := startHelper(t, "hold", name)
	h.expect("locked")
	_, err := TryLock(name)
	wantLocked(t, "TryLock while the child holds it", err, name)
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-h.exited

	waitReleased(t, name, "lock of a SIGKILLed holder")
}

func TestChildDoesNotInheritLock(t *testing.T) {
	name := tempName(t)
	l := mustLock(t, name)
	child := startHelper(t, "idle", name) // started while we hold the lock
	child.expect("started")
	mustUnlock(t, l)
	wantOther(t, "try", name, "ok", "after unlock, with a child started under the lock alive")
	if !child.alive() {
		t.Fatal("the child exited early; the test proved nothing")
	}
	child.kill()
}

func TestSidecarIsKept(t *testing.T) {
	name := tempName(t)
	l := mustLock(t, name)
	fi, err := os.Stat(name + Suffix)
	if err != nil {
		t.Fatalf("sidecar missing while locked: %v", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("sidecar mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lock touched the data file itself: %v", err)
	}
	mustUnlock(t, l)
	if _, err := os.Stat(name + Suffix); err != nil {
		t.Fatalf("sidecar gone after Unlock: %v", err)
	}
	r := mustRLock(t, name)
	mustUnlock(t, r)
	if _, err := os.Stat(name + Suffix); err != nil {
		t.Fatalf("sidecar gone after a shared lock: %v", err)
	}

	// A shared lock opens the sidecar read-only, and must still create it.
	fresh := name + "2"
	r = mustRLock(t, fresh)
	mustUnlock(t, r)
	if _, err := os.Stat(fresh + Suffix); err != nil {
		t.Fatalf("RLock did not create the sidecar, or it is gone: %v", err)
	}
}

// The lock must not stop anyone reading the sidecar: on Windows, where locks
// are mandatory, that is why the locked byte lies far past the end. (Wine 8
// does not enforce byte-range locks on reads, so there this cannot fail.)
func TestSidecarReadableWhileLocked(t *testing.T) {
	name := tempName(t)
	if err := os.WriteFile(name+Suffix, []byte("note"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, take := range []func(*testing.T, string) *Held{mustLock, mustRLock} {
		l := take(t, name)
		b, err := os.ReadFile(name + Suffix)
		if err != nil || string(b) != "note" {
			t.Errorf("reading the locked sidecar: %q, %v", b, err)
		}
		mustUnlock(t, l)
	}
}

func TestUnlockTwice(t *testing.T) {
	name := tempName(t)
	l := mustLock(t, name)
	mustUnlock(t, l)
	err := l.Unlock()
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("second Unlock: got %v, want ErrClosed", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != name+Suffix {
		t.Fatalf("%v is not a *fs.PathError on the sidecar", err)
	}
	// The second Unlock must not have released someone else's lock.
	l2 := mustLock(t, name)
	l.Unlock()
	_, err = TryLock(name)
	wantLocked(t, "TryLock after a stale Unlock", err, name)
	mustUnlock(t, l2)
}

func TestErrorsCarryPathAndCause(t *testing.T) {
	name := filepath.Join(tempName(t), "missing", "data")
	for _, f := range []func() (*Held, error){
		func() (*Held, error) { return TryLock(name) },
		func() (*Held, error) { return TryRLock(name) },
		func() (*Held, error) { return Lock(context.Background(), name) },
		func() (*Held, error) { return RLock(context.Background(), name) },
	} {
		_, err := f()
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("got %v, want fs.ErrNotExist", err)
		}
		var pe *fs.PathError
		if !errors.As(err, &pe) || pe.Path != name+Suffix {
			t.Errorf("%v is not a *fs.PathError on %s", err, name+Suffix)
		}
	}
	if _, err := TryLock(""); err == nil {
		t.Error("TryLock of an empty name succeeded")
	}
	checkRegistryEmpty(t)
}

// holders are n goroutines that each take the lock with take and run
// under it, again and again.
type holders struct {
	n     int
	take  func(context.Context, string) (*Held, error)
	under func() error
}

// runHolders starts every group of holders on name at once, each holder
// taking the lock, running under and releasing it iterations times, and
// fails the test with the errors any of them met (a holder stops at its
// first).
func runHolders(t *testing.T, ctx context.Context, name string, iterations int, groups ...holders) {
	t.Helper()
	var wg sync.WaitGroup
	n := 0
	for _, g := range groups {
		n += g.n
	}
	errc := make(chan error, n)
	for _, g := range groups {
		for range g.n {
			wg.Go(func() {
				for range iterations {
					l, err := g.take(ctx, name)
					if err != nil {
						errc <- err
						return
					}
					err = g.under()
					if uerr := l.Unlock(); err == nil {
						err = uerr
					}
					if err != nil {
						errc <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

func TestCounter(t *testing.T) {
	const goroutines, iterations = 64, 200
	name := tempName(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	counter := 0 // deliberately not atomic: the lock must protect it
	runHolders(t, ctx, name, iterations, holders{goroutines, Lock, func() error {
		v := counter
		runtime.Gosched()
		counter = v + 1
		return nil
	}})
	if counter != goroutines*iterations {
		t.Fatalf("counter = %d, want %d: updates were lost", counter, goroutines*iterations)
	}
	checkRegistryEmpty(t)
}

// Readers under RLock and writers under Lock: the race detector checks that
// shared holders are ordered after the writer before them.
func TestReadersAndWriters(t *testing.T) {
	name := tempName(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const writers, readers, iterations = 4, 8, 50

	state := map[string]int{} // a map, so that a racing reader can crash
	runHolders(t, ctx, name, iterations, holders{writers, Lock, func() error {
		state["n"]++
		state["m"] = state["n"]
		return nil
	}}, holders{readers, RLock, func() error {
		if state["n"] != state["m"] {
			return errors.New("reader saw a half-done update")
		}
		return nil
	}})
	if state["n"] != writers*iterations {
		t.Fatalf("n = %d, want %d", state["n"], writers*iterations)
	}
	checkRegistryEmpty(t)
}

// A waiting writer holds off new readers, and stops doing so if it gives up.
func TestQueuedWriterHoldsOffReaders(t *testing.T) {
	name := tempName(t)
	r := mustRLock(t, name)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan error, 1)
	go func() {
		l, err := Lock(ctx, name)
		if err == nil {
			l.Unlock()
		}
		got <- err
	}()
	waitQueued(t, name, 1)
	if _, err := TryRLock(name); !isLocked(err) {
		t.Fatalf("TryRLock with a writer waiting: got %v, want ErrLocked", err)
	}
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled writer: %v", err)
	}
	r2, err := TryRLock(name)
	if err != nil {
		t.Fatalf("TryRLock after the waiting writer gave up: %v", err)
	}
	mustUnlock(t, r2)

	go func() {
		l, err := Lock(context.Background(), name)
		if err == nil {
			l.Unlock()
		}
		got <- err
	}()
	waitQueued(t, name, 1)
	mustUnlock(t, r)
	if err := <-got; err != nil {
		t.Fatalf("writer after the reader left: %v", err)
	}
	checkRegistryEmpty(t)
}

func waitQueued(t *testing.T, name string, n int) {
	t.Helper()
	_, key, err := sidecar(name)
	if err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(time.Millisecond) {
		registry.mu.Lock()
		e := registry.m[key]
		registry.mu.Unlock()
		if e != nil {
			e.mu.Lock()
			q := e.queued
			e.mu.Unlock()
			if q == n {
				return
			}
		}
	}
	t.Fatalf("no %d writers queued on %s", n, key)
}

// lose takes a lock and drops it without Unlock.
//
//go:noinline
func lose(t *testing.T, name string) {
	if _, err := Lock(context.Background(), name); err != nil {
		t.Fatal(err)
	}
}

func TestLostLockIsReleasedAndReported(t *testing.T) {
	name := tempName(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	defer func() { os.Stderr = stderr }()

	lose(t, name)
	if _, err := TryLock(name); !isLocked(err) {
		t.Fatalf("TryLock right after losing the lock: got %v, want ErrLocked", err)
	}
	released := false
	for range 100 {
		runtime.GC()
		l, err := TryLock(name)
		if err == nil {
			mustUnlock(t, l)
			released = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	os.Stderr = stderr
	w.Close()
	if !released {
		t.Fatal("a lock lost without Unlock was not released after 100 GC cycles")
	}
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	want := "durable/lock: lock on " + name + Suffix + " was never unlocked; releasing it"
	if !strings.Contains(out, want) {
		t.Fatalf("stderr = %q, want it to contain %q", out, want)
	}
	checkRegistryEmpty(t)
}
