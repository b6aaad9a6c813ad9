package durable

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// The rules of the concurrency layer (internal/group), through Update.

// waitQueued waits until n Updates of name on fsys wait for their turn.
func waitQueued(t *testing.T, fsys vfs.FS, name string, n int) {
	t.Helper()
	key := registryKey(vfs.Base(fsys), filepath.Clean(name))
	deadline := time.Now().Add(5 * time.Second)
	for updaters.Waiting(key) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d updates queued, want %d", updaters.Waiting(key), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// blockUpdate starts an Update of name that holds its batch (and the
// lock) until release is closed; it returns once fn runs, and done is
// closed when the Update has returned.
func blockUpdate(t *testing.T, fsys vfs.FS, name string, content string) (release func(), done <-chan error) {
	t.Helper()
	in, out := make(chan struct{}), make(chan struct{})
	ch := make(chan error, 1)
	go func() {
		ch <- Update(name, func([]byte) ([]byte, error) {
			close(in)
			<-out
			return []byte(content), nil
		}, WithFS(fsys))
	}()
	<-in
	return func() { close(out) }, ch
}

func incr(old []byte) ([]byte, error) {
	n, _ := strconv.Atoi(string(old))
	return []byte(strconv.Itoa(n + 1)), nil
}

// Item 2 and 3: a panic in one Update's fn is raised in that caller's
// goroutine; the others of its batch are written; the file is not wedged.
func TestUpdatePanicIsRaisedInItsCaller(t *testing.T) {
	m := vfs.NewMem()
	release, first := blockUpdate(t, m, "/f", "1")
	type result struct {
		err error
		p   any
	}
	results := make([]chan result, 3)
	for i := range 3 {
		results[i] = make(chan result, 1)
		go func() {
			var r result
			defer func() { r.p = recover(); results[i] <- r }()
			r.err = Update("/f", func(old []byte) ([]byte, error) {
				if i == 1 {
					panic("update fn")
				}
				return incr(old)
			}, WithFS(m))
		}()
		waitQueued(t, m, "/f", i+1)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, ch := range results {
		r := <-ch
		if i == 1 {
			if r.p != "update fn" {
				t.Fatalf("the panicking caller recovered %v, err %v", r.p, r.err)
			}
			continue
		}
		if r.p != nil || r.err != nil {
			t.Fatalf("caller %d: panic %v, err %v", i, r.p, r.err)
		}
	}
	if b, _ := vfs.ReadFile(m, "/f"); string(b) != "3" {
		t.Fatalf("file holds %q, want 3 (1, then two increments)", b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := UpdateContext(ctx, "/f", incr, WithFS(m)); err != nil {
		t.Fatalf("an Update after the panic: %v", err)
	}
}

// A Verify callback that panics: the panic reaches the caller, the temp
// file is gone, and the next write goes through.
func TestVerifyPanicIsRaisedInItsCaller(t *testing.T) {
	m := vfs.NewMem()
	func() {
		defer func() {
			if p := recover(); p != "verify" {
				t.Fatalf("recovered %v", p)
			}
		}()
		WriteFile("/d/f", []byte("x"), 0o600, WithFS(m), Verify(func([]byte) error { panic("verify") }))
		t.Fatal("WriteFile returned")
	}()
	ents, _ := m.ReadDir("/d")
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("temp file %s left", e.Name())
		}
	}
	done := make(chan error, 1)
	go func() { done <- WriteFile("/d/f", []byte("y"), 0o600, WithFS(m)) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the file is wedged after a panic in Verify")
	}
	// And through Update.
	func() {
		defer func() {
			if p := recover(); p != "verify" {
				t.Fatalf("recovered %v", p)
			}
		}()
		Update("/d/f", incr, WithFS(m), Verify(func([]byte) error { panic("verify") }))
	}()
	if err := Update("/d/f", func([]byte) ([]byte, error) { return []byte("z"), nil }, WithFS(m)); err != nil {
		t.Fatal(err)
	}
}

// Item 5: a caller queued behind a slow batch returns at its own deadline,
// and its fn never runs.
func TestUpdateWaiterHonoursItsDeadline(t *testing.T) {
	m := vfs.NewMem()
	release, first := blockUpdate(t, m, "/f", "1")
	defer func() { release(); <-first }()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	called := false
	err := UpdateContext(ctx, "/f", func(b []byte) ([]byte, error) { called = true; return b, nil }, WithFS(m))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("returned after %v with a 200ms deadline", d)
	}
	if called {
		t.Fatal("fn ran for a caller that had left")
	}
}

// Item 6: the caller that leads a batch gives up, while the batch waits
// for its turn and while it waits for the lock: nobody else fails.
func TestUpdateLeaderContextFailsNobodyElse(t *testing.T) {
	m := vfs.NewMem()
	ext := lock.New(m, "/f")
	defer ext.Close()
	held, err := ext.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var ran []string
	fn := func(name string) func([]byte) ([]byte, error) {
		return func([]byte) ([]byte, error) {
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
			return []byte(name), nil
		}
	}
	// a leads a batch that waits for the lock; b and c queue behind it,
	// b leading their batch.
	ctxA, cancelA := context.WithCancel(context.Background())
	ctxB, cancelB := context.WithCancel(context.Background())
	errA, errB, errC := make(chan error, 1), make(chan error, 1), make(chan error, 1)
	go func() { errA <- UpdateContext(ctxA, "/f", fn("a"), WithFS(m)) }()
	time.Sleep(20 * time.Millisecond)
	go func() { errB <- UpdateContext(ctxB, "/f", fn("b"), WithFS(m)) }()
	waitQueued(t, m, "/f", 1)
	go func() { errC <- UpdateContext(context.Background(), "/f", fn("c"), WithFS(m)) }()
	waitQueued(t, m, "/f", 2)
	cancelA()
	if err := <-errA; !errors.Is(err, context.Canceled) {
		t.Fatalf("a: %v", err)
	}
	waitQueued(t, m, "/f", 0) // b and c's batch now waits for the lock
	time.Sleep(20 * time.Millisecond)
	cancelB()
	select {
	case err := <-errB:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("b: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("b did not return when its context was cancelled")
	}
	held.Unlock()
	if err := <-errC; err != nil {
		t.Fatalf("c, whose context was fine: %v", err)
	}
	if b, _ := vfs.ReadFile(m, "/f"); string(b) != "c" || len(ran) != 1 {
		t.Fatalf("file %q, fns run %v; want only c's", b, ran)
	}
}

// Item 4: an Update of a file inside an Update of the same file is
// refused at once, through Update, UpdateContext and an Updater.
func TestUpdateReentryIsRefused(t *testing.T) {
	m := vfs.NewMem()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var inner error
	start := time.Now()
	err := UpdateContext(ctx, "/f", func([]byte) ([]byte, error) {
		inner = UpdateContext(ctx, "/f", incr, WithFS(m))
		return []byte("outer"), nil
	}, WithFS(m))
	if err != nil || !errors.Is(inner, ErrReentrant) || time.Since(start) > 8*time.Second {
		t.Fatalf("outer %v, inner %v, after %v", err, inner, time.Since(start))
	}
	// A WriteFile from a Verify callback of the same file, too.
	err = WriteFile("/f", []byte("x"), 0o600, WithFS(m), Verify(func([]byte) error {
		inner = WriteFile("/f", []byte("y"), 0o600, WithFS(m), Verify(func([]byte) error { return nil }))
		return nil
	}))
	if err != nil || !errors.Is(inner, ErrReentrant) {
		t.Fatalf("outer %v, inner %v", err, inner)
	}
	u := NewUpdater("/f", WithFS(m))
	defer u.Close()
	err = u.Update(ctx, func([]byte) ([]byte, error) {
		inner = u.Update(ctx, incr)
		return []byte("updater"), nil
	})
	if err != nil || !errors.Is(inner, ErrReentrant) {
		t.Fatalf("Updater: outer %v, inner %v", err, inner)
	}
}

// Item 7: when the batch's replace fails, every caller whose fn saw the
// unwritten change fails with it, also when its fn said ErrNoChange or
// failed; a caller before the change keeps its own outcome.
func TestUpdateFailedReplaceFailsWhoSawIt(t *testing.T) {
	m := vfs.NewMem()
	inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpRename, N: 2, Err: syscall.EIO})
	release, first := blockUpdate(t, inj, "/f", "1") // rename 1
	own := errors.New("refused")
	var seen [4][]byte
	fns := []func([]byte) ([]byte, error){
		func(b []byte) ([]byte, error) { seen[0] = b; return nil, ErrNoChange }, // before the change
		func(b []byte) ([]byte, error) { seen[1] = b; return incr(b) },          // the change
		func(b []byte) ([]byte, error) { seen[2] = b; return nil, ErrNoChange }, // saw it
		func(b []byte) ([]byte, error) { seen[3] = b; return nil, own },         // saw it
	}
	errs := make([]chan error, len(fns))
	for i, fn := range fns {
		errs[i] = make(chan error, 1)
		go func() { errs[i] <- Update("/f", fn, WithFS(inj)) }()
		waitQueued(t, inj, "/f", i+1)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	got := make([]error, len(fns))
	for i := range fns {
		got[i] = <-errs[i]
	}
	if string(seen[2]) != "2" {
		t.Fatalf("the batch did not run as set up: the third fn saw %q", seen[2])
	}
	if got[0] != nil {
		t.Fatalf("the fn before the change said ErrNoChange on the real file, got %v", got[0])
	}
	for i := 1; i <= 3; i++ {
		if !errors.Is(got[i], syscall.EIO) {
			t.Fatalf("caller %d: %v, want the replace's EIO", i, got[i])
		}
	}
	if !errors.Is(got[3], own) {
		t.Fatalf("caller 3 lost its own error: %v", got[3])
	}
	if b, _ := vfs.ReadFile(m, "/f"); string(b) != "1" {
		t.Fatalf("file holds %q", b)
	}
}

// funcFS is a filesystem wrapper that cannot be compared (it has a func
// field) and does not say what it wraps.
type funcFS struct {
	vfs.FS
	hook func()
}

// unwrapFS is the same, saying what it wraps.
type unwrapFS struct {
	vfs.FS
	hook func()
}

func (u unwrapFS) Unwrap() vfs.FS { return u.FS }

// osWrapper wraps the real filesystem without saying so; it is comparable.
type osWrapper struct{ vfs.OS }

// Item 8: a filesystem value that cannot be compared still gets
// isolation: concurrent increments lose nothing.
func TestUpdateIsolationWithoutComparableFS(t *testing.T) {
	for _, tc := range []struct {
		name string
		fs   func(*vfs.MemFS) vfs.FS
	}{
		{"func field", func(m *vfs.MemFS) vfs.FS { return funcFS{m, func() {}} }},
		{"func field, unwraps", func(m *vfs.MemFS) vfs.FS { return unwrapFS{m, func() {}} }},
		{"injector of func field", func(m *vfs.MemFS) vfs.FS { return vfs.Inject(funcFS{m, func() {}}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := vfs.NewMem()
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					// A new value per call, as a caller that builds its
					// options each time would pass.
					if err := Update("/c", incr, WithFS(tc.fs(m))); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if b, _ := vfs.ReadFile(m, "/c"); string(b) != "50" {
				t.Fatalf("counter %q after 50 increments", b)
			}
		})
	}
}

// Item 8: a wrapper of the real filesystem keeps the cross-process lock
// when it says what it wraps (vfs.Inject does), and is refused when it
// does not.
func TestUpdateOSWrapperKeepsCrossProcessLock(t *testing.T) {
	if os.Getenv("DURABLE_CONC_HOLD") != "" {
		t.Skip("helper")
	}
	dir := testdir.New(t)
	name := filepath.Join(dir, "f")
	cmd := testdir.Command("TestConcHelperHoldLock", "DURABLE_CONC_HOLD="+name)
	stdin, stdout := testdir.StartPiped(t, cmd)
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, "locked") {
		t.Fatalf("helper: %q %v", line, err)
	}
	for _, fsys := range []vfs.FS{vfs.Inject(vfs.OS{}), unwrapFS{vfs.OS{}, nil}} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		called := false
		err := UpdateContext(ctx, name, func(b []byte) ([]byte, error) { called = true; return []byte("x"), nil }, WithFS(fsys))
		cancel()
		if !errors.Is(err, ErrLocked) || called {
			t.Fatalf("%T: Update while another process holds the lock: %v (fn called: %v)", fsys, err, called)
		}
	}
	for _, fsys := range []vfs.FS{osWrapper{}, funcFS{vfs.OS{}, nil}} {
		err := Update(name, func([]byte) ([]byte, error) { return []byte("x"), nil }, WithFS(fsys))
		if !errors.Is(err, lock.ErrUnsupportedFS) {
			t.Fatalf("%T: got %v, want a refusal (lock.ErrUnsupportedFS)", fsys, err)
		}
	}
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the file was written: %v", err)
	}
}

func TestConcHelperHoldLock(t *testing.T) {
	name := os.Getenv("DURABLE_CONC_HOLD")
	if name == "" {
		t.Skip("helper process for TestUpdateOSWrapperKeepsCrossProcessLock")
	}
	h, err := lock.Lock(context.Background(), name)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	h.Unlock()
}
