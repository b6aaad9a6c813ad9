package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/queue"
	"github.com/durable-go/durable/vfs"
)

// WorkerEnv carries a WorkerSpec to a worker process: a program that
// measures several processes (durable bench, bench/) re-executes itself
// with it set, and its main calls WorkerMain first.
const WorkerEnv = "DURABLE_BENCH_WORKER"

// OneShotEnv makes a process do one thing and exit: "append-line:FILE"
// appends JSONLine to FILE, opened O_APPEND, and fdatasyncs it: the floor
// of a CLI append, one process per line.
const OneShotEnv = "DURABLE_BENCH_ONESHOT"

func oneShot(spec string) error {
	kind, path, _ := strings.Cut(spec, ":")
	if kind != "append-line" {
		return fmt.Errorf("unknown one-shot %q", spec)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(append(JSONLine[:len(JSONLine):len(JSONLine)], '\n'))
	if err == nil {
		err = vfs.Datasync(f)
	}
	return errors.Join(err, f.Close())
}

// WorkerSpec is what one worker process does.
type WorkerSpec struct {
	Kind       string `json:"kind"` // "journal", "queue" or "store"
	Path       string `json:"path"` // the journal or queue directory, the store's file
	Goroutines int    `json:"goroutines"`
	Size       int    `json:"size"` // bytes per record or message; keys of the store's document
	Log        bool   `json:"log,omitempty"`
}

// WorkerMain runs this process as a worker when WorkerEnv is set and
// reports whether it did; the caller then exits. With SpawnerEnv set it
// runs it as a Spawner instead. A worker opens what its
// spec names, prints "ready", then for each "run NANOSECONDS" line on
// stdin runs operations in its goroutines for that long and prints the
// number done; it closes and exits at the end of stdin.
func WorkerMain() bool {
	if spec := os.Getenv(OneShotEnv); spec != "" {
		if err := oneShot(spec); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return true
	}
	if os.Getenv(SpawnerEnv) != "" {
		// Not inherited by what the spawner starts.
		os.Unsetenv(SpawnerEnv)
		if err := serveSpawner(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench spawner:", err)
			os.Exit(1)
		}
		return true
	}
	spec := os.Getenv(WorkerEnv)
	if spec == "" {
		return false
	}
	if err := serveWorker(spec, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench worker:", err)
		os.Exit(1)
	}
	return true
}

func serveWorker(spec string, in io.Reader, out io.Writer) error {
	var s WorkerSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return err
	}
	op, closeFn, err := openWorker(s)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "ready")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		ns, ok := strings.CutPrefix(sc.Text(), "run ")
		d, perr := strconv.ParseInt(ns, 10, 64)
		if !ok || perr != nil {
			return fmt.Errorf("bad command %q", sc.Text())
		}
		n, _, err := hammer("", max(1, s.Goroutines), time.Duration(d), func(int, int) error { return op() })
		if err != nil {
			closeFn()
			return err
		}
		fmt.Fprintln(out, n)
	}
	return errors.Join(sc.Err(), closeFn())
}

// openWorker opens what s names and returns one operation on it.
func openWorker(s WorkerSpec) (func() error, func() error, error) {
	ctx := context.Background()
	switch s.Kind {
	case "journal":
		j, err := journal.Open(s.Path, nil)
		if err != nil {
			return nil, nil, err
		}
		rec := payload(s.Size)
		return func() error { _, err := j.Append(ctx, rec); return err }, j.Close, nil
	case "queue":
		q, err := queue.Open(s.Path, nil)
		if err != nil {
			return nil, nil, err
		}
		return QueueRoundTrip(q, s.Size), q.Close, nil
	case "store":
		u, err := OpenFieldUpdater(s.Path, s.Size, s.Log)
		if err != nil {
			return nil, nil, err
		}
		return func() error { return u.Update(ctx) }, u.Close, nil
	}
	return nil, nil, fmt.Errorf("unknown worker kind %q", s.Kind)
}

// QueueRoundTrip returns one operation of the queue workload: push a
// size-byte message, pop one under a lease, acknowledge it. Each caller
// pushes before it pops, so a pop never finds the queue empty.
func QueueRoundTrip(q *queue.Queue, size int) func() error {
	msg := payload(size)
	ctx := context.Background()
	return func() error {
		if _, err := q.Push(ctx, msg); err != nil {
			return err
		}
		m, err := q.Pop(ctx, time.Minute)
		if err != nil {
			return err
		}
		return q.Ack(ctx, m.Receipt())
	}
}

// Workers is a set of worker processes doing the same work together.
type Workers struct {
	procs []*worker
}

type worker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Scanner
	stderr lockedBuffer
}

// lockedBuffer is a child's stderr: written by exec's copying goroutine,
// read when the child fails.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.TrimSpace(l.b.String())
}

// StartWorkers starts n processes of exe (the running program, which
// calls WorkerMain) doing spec, and waits until each has opened its files.
func StartWorkers(exe string, n int, spec WorkerSpec) (*Workers, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	ws := &Workers{}
	for range n {
		w := &worker{cmd: exec.Command(exe)}
		w.cmd.Env = append(os.Environ(), WorkerEnv+"="+string(b))
		w.cmd.Stderr = &w.stderr
		if w.stdin, err = w.cmd.StdinPipe(); err != nil {
			ws.Close()
			return nil, err
		}
		out, err := w.cmd.StdoutPipe()
		if err != nil {
			ws.Close()
			return nil, err
		}
		w.stdout = bufio.NewScanner(out)
		if err := w.cmd.Start(); err != nil {
			ws.Close()
			return nil, err
		}
		ws.procs = append(ws.procs, w)
	}
	for _, w := range ws.procs {
		if line, err := w.line(); err != nil || line != "ready" {
			ws.Close() // waits, so that stderr is complete
			return nil, fmt.Errorf("worker did not start (%q): %v: %s", line, err, w.stderr.String())
		}
	}
	return ws, nil
}

func (w *worker) line() (string, error) {
	if w.stdout.Scan() {
		return w.stdout.Text(), nil
	}
	err := w.stdout.Err()
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return "", fmt.Errorf("%w: %s", err, w.stderr.String())
}

// Run has every worker work for d at once and returns the operations done
// and the wall time from the start until the last worker answered.
func (ws *Workers) Run(d time.Duration) (int64, time.Duration, error) {
	start := time.Now()
	for _, w := range ws.procs {
		if _, err := fmt.Fprintf(w.stdin, "run %d\n", d); err != nil {
			return 0, 0, err
		}
	}
	var total atomic.Int64
	errs := make([]error, len(ws.procs))
	var wg sync.WaitGroup
	for i, w := range ws.procs {
		wg.Go(func() {
			line, err := w.line()
			if err != nil {
				errs[i] = err
				return
			}
			n, err := strconv.ParseInt(line, 10, 64)
			if err != nil {
				errs[i] = fmt.Errorf("worker said %q", line)
				return
			}
			total.Add(n)
		})
	}
	wg.Wait()
	return total.Load(), time.Since(start), errors.Join(errs...)
}

// Close ends the workers (they close what they opened) and waits for them.
func (ws *Workers) Close() error {
	var errs []error
	for _, w := range ws.procs {
		w.stdin.Close()
	}
	for _, w := range ws.procs {
		if w.cmd.Process == nil {
			continue
		}
		if err := w.cmd.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s", err, w.stderr.String()))
		}
	}
	return errors.Join(errs...)
}
