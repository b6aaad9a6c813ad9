package durable_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/prerename"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

type counterDoc struct {
	Count   int      `json:"count"`
	Writers []string `json:"writers,omitempty"`
	Pad     string   `json:"pad"`
}

// increment is the read-modify-write every test below races.
func increment(old []byte) ([]byte, error) {
	var d counterDoc
	if old != nil {
		if err := json.Unmarshal(old, &d); err != nil {
			return nil, fmt.Errorf("stored document does not parse: %w", err)
		}
	}
	d.Count++
	d.Pad = fmt.Sprintf("%0*d", 1000+d.Count%500, d.Count) // sizes vary, so a torn read would show
	return json.Marshal(d)
}

func readCount(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var d counterDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("final document does not parse: %v", err)
	}
	return d.Count
}

func TestUpdateGoroutinesLoseNothing(t *testing.T) {
	name := filepath.Join(testdir.New(t), "counter.json")
	const goroutines, each = 64, 50
	var calls atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				err := durable.Update(name, func(old []byte) ([]byte, error) {
					calls.Add(1)
					return increment(old)
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := readCount(t, name); got != goroutines*each {
		t.Fatalf("count = %d, want %d: updates were lost", got, goroutines*each)
	}
	if got := calls.Load(); got != goroutines*each {
		t.Fatalf("fn ran %d times for %d updates; each must run exactly once", got, goroutines*each)
	}
}

// Processes: the test binary re-executed as updaters and readers.
func TestUpdateHelperProcess(t *testing.T) {
	name := os.Getenv("DURABLE_TEST_UPDATE_FILE")
	if name == "" {
		t.Skip("helper process for TestUpdateProcessesLoseNothing")
	}
	switch os.Getenv("DURABLE_TEST_UPDATE_ROLE") {
	case "updater":
		n, _ := strconv.Atoi(os.Getenv("DURABLE_TEST_UPDATE_N"))
		for range n {
			if err := durable.Update(name, increment); err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
		}
	case "reader":
		// Read until told to stop (stdin closes); report every bad read.
		stop := make(chan struct{})
		go func() { bufio.NewReader(os.Stdin).ReadString('\n'); close(stop) }()
		reads, bad := 0, 0
		for {
			select {
			case <-stop:
				fmt.Printf("reads %d bad %d\n", reads, bad)
				return
			default:
			}
			b, err := durable.ReadFile(name)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			var d counterDoc
			if err != nil || json.Unmarshal(b, &d) != nil {
				bad++
				fmt.Printf("bad read: %v %.60q\n", err, b)
			}
			reads++
			// Leave the two cores to the updaters now and then.
			time.Sleep(200 * time.Microsecond)
		}
	}
}

func TestUpdateProcessesLoseNothing(t *testing.T) {
	skipReadersStarveRenameUnderWine(t)
	if testing.Short() {
		t.Skip("starts 11 processes")
	}
	name := filepath.Join(testdir.New(t), "counter.json")
	procs, each := 8, 500
	if os.Getenv("CI") != "true" {
		each = 100
	}
	helper := func(role string, n int) *exec.Cmd {
		return testdir.Command("TestUpdateHelperProcess", "DURABLE_TEST_UPDATE_FILE="+name,
			"DURABLE_TEST_UPDATE_ROLE="+role, "DURABLE_TEST_UPDATE_N="+strconv.Itoa(n))
	}
	type reader struct {
		cmd   *exec.Cmd
		stdin interface{ Close() error }
		out   *safeBuffer
	}
	var readers []reader
	for range 3 {
		cmd := helper("reader", 0)
		in, _ := cmd.StdinPipe()
		out := &safeBuffer{}
		cmd.Stdout = out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		readers = append(readers, reader{cmd, in, out})
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range procs {
		wg.Go(func() {
			out, err := helper("updater", each).CombinedOutput()
			if err != nil {
				t.Errorf("updater: %v\n%s", err, out)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	totalReads := 0
	for _, r := range readers {
		r.stdin.Close()
		if err := r.cmd.Wait(); err != nil {
			t.Errorf("reader: %v", err)
		}
		var reads, bad int
		if _, err := fmt.Sscanf(lastLine(r.out.String()), "reads %d bad %d", &reads, &bad); err != nil {
			t.Fatalf("reader output: %q", r.out.String())
		}
		if bad != 0 {
			t.Errorf("a reader saw %d unparsable versions:\n%s", bad, r.out.String())
		}
		totalReads += reads
	}
	if got := readCount(t, name); got != procs*each {
		t.Fatalf("count = %d, want %d: updates were lost", got, procs*each)
	}
	if totalReads == 0 {
		t.Fatal("readers never read: the test checked nothing")
	}
	t.Logf("%d processes x %d updates in %v; readers parsed %d versions, none bad", procs, each, elapsed.Round(time.Millisecond), totalReads)
}

type safeBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

func lastLine(s string) string {
	lines := splitLines(s)
	for i := len(lines) - 1; i >= 0; i-- {
		if lines[i] != "" && lines[i] != "PASS" {
			return lines[i]
		}
	}
	return ""
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

func TestUpdateNoChangeAndErrors(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "doc")
	if err := durable.Update(name, func(old []byte) ([]byte, error) {
		if old != nil {
			t.Errorf("missing file: old = %q, want nil", old)
		}
		return []byte("v1"), nil
	}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(name); runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("new file from Update has mode %v, want private", fi.Mode().Perm())
	}
	before, _ := os.Stat(name)
	if err := durable.Update(name, func([]byte) ([]byte, error) { return nil, durable.ErrNoChange }); err != nil {
		t.Fatalf("ErrNoChange: %v", err)
	}
	after, _ := os.Stat(name)
	if !os.SameFile(before, after) {
		t.Fatal("ErrNoChange rewrote the file")
	}
	boom := errors.New("invalid")
	if err := durable.Update(name, func([]byte) ([]byte, error) { return []byte("bad"), boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the fn's error", err)
	}
	wantContent(t, name, "v1", "failed update changed the file")
	// The lock file stays: deleting it could let two holders in.
	if _, err := os.Stat(name + ".lock"); err != nil {
		t.Fatalf("lock file: %v", err)
	}
}

func TestIfVersionConflict(t *testing.T) {
	name := filepath.Join(testdir.New(t), "doc")
	durable.WriteFile(name, []byte("v1"), 0o600)
	data, v, err := durable.ReadRev(name)
	if err != nil || string(data) != "v1" {
		t.Fatal(data, err)
	}
	// Someone else writes in between.
	durable.WriteFile(name, []byte("theirs"), 0o600)
	err = durable.WriteFile(name, []byte("mine"), 0o600, durable.IfRev(v))
	if !errors.Is(err, durable.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	wantContent(t, name, "theirs", "conflicting write landed")
	_, v, _ = durable.ReadRev(name)
	if err := durable.WriteFile(name, []byte("mine"), 0o600, durable.IfRev(v)); err != nil {
		t.Fatalf("write with a current version: %v", err)
	}
	// The zero Rev means "must not exist yet".
	fresh := name + "-new"
	if err := durable.WriteFile(fresh, []byte("x"), 0o600, durable.IfRev(durable.Rev{})); err != nil {
		t.Fatal(err)
	}
	if err := durable.WriteFile(fresh, []byte("y"), 0o600, durable.IfRev(durable.Rev{})); !errors.Is(err, durable.ErrConflict) {
		t.Fatalf("second create-if-absent: %v", err)
	}
}

// Crash points and faults for Update on the model.
func TestCrashUpdate(t *testing.T) {
	const name = "/app/counter.json"
	m := memWith(map[string]string{name: `{"count":41,"pad":""}`})
	during, after, err := crashEveryStep(m, func(fsys vfs.FS) error {
		return durable.Update(name, increment, durable.WithFS(fsys))
	})
	if err != nil {
		t.Fatal(err)
	}
	count := func(s crashState) (int, error) {
		b, err := vfs.ReadFile(s.fs, name)
		if err != nil {
			return 0, err
		}
		var d counterDoc
		if err := json.Unmarshal(b, &d); err != nil {
			return 0, fmt.Errorf("torn document %.30q: %w", b, err)
		}
		return d.Count, nil
	}
	checkStates(t, during, func(s crashState) error {
		c, err := count(s)
		if err == nil && c != 41 && c != 42 {
			err = fmt.Errorf("count %d, want 41 or 42", c)
		}
		return err
	})
	checkStates(t, after, func(s crashState) error {
		c, err := count(s)
		if err == nil && c != 42 {
			err = fmt.Errorf("Update returned, but after a crash count is %d", c)
		}
		return err
	})
}

func TestFaultUpdate(t *testing.T) {
	const name = "/app/counter.json"
	start := map[string]string{name: `{"count":7,"pad":""}`}
	old := start[name]
	probe := vfs.Inject(memWith(start), vfs.Fault{})
	if err := durable.Update(name, increment, durable.WithFS(probe)); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= probe.Count(); n++ {
		m := memWith(start)
		inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpAll, N: n, Err: errors.New("injected")})
		err := durable.Update(name, increment, durable.WithFS(inj))
		got := content(t, m, name)
		if err == nil {
			t.Errorf("call %d failed but Update succeeded", n)
		}
		if got != old {
			var d counterDoc
			if json.Unmarshal([]byte(got), &d) != nil || d.Count != 8 {
				t.Errorf("call %d: file is %.40q, neither old nor new", n, got)
			}
		}
		if tmp := tempsIn(m, "/"); len(tmp) > 0 {
			t.Errorf("call %d: temp files left: %v", n, tmp)
		}
	}
}

// The step package store hands Updater.Update through its context
// (internal/prerename) runs after the new version is written and before
// the rename, and its failure abandons the replace: the file keeps its old
// content and no temp file is left.
func TestUpdaterWaitsBeforeRename(t *testing.T) {
	dir := testdir.New(t)
	path := filepath.Join(dir, "f.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := durable.NewUpdater(path)
	defer u.Close()
	calls := 0
	ctx := prerename.With(context.Background(), func() error {
		calls++
		if got, _ := os.ReadFile(path); string(got) != "old" {
			t.Errorf("before the rename the file holds %q", got)
		}
		return nil
	})
	if err := u.Update(ctx, func([]byte) ([]byte, error) { return []byte("new"), nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new" || calls != 1 {
		t.Fatalf("file %q after %d calls; want \"new\" after 1", got, calls)
	}
	boom := errors.New("boom")
	ctx = prerename.With(context.Background(), func() error { return boom })
	if err := u.Update(ctx, func([]byte) ([]byte, error) { return []byte("newer"), nil }); !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the step's error", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new" {
		t.Fatalf("after a failed step the file holds %q", got)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "f.json" && e.Name() != "f.json.lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
