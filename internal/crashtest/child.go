package crashtest

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// child is a running writer process and what it has acknowledged so far.
type child struct {
	cmd      *exec.Cmd
	start    time.Time
	lastAck  atomic.Uint64
	acks     atomic.Int64
	firstAck chan struct{} // closed at the first ack
	ackSig   chan struct{} // signalled after every ack
	eof      chan struct{} // closed when the child's stdout is closed
	stderr   *tail
	waitErr  error
}

func startChild(spawn func() *exec.Cmd) (*child, error) {
	cmd := spawn()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, firstAck: make(chan struct{}), ackSig: make(chan struct{}, 1),
		eof: make(chan struct{}), stderr: &tail{}}
	if cmd.Stderr == nil {
		cmd.Stderr = c.stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start writer: %w", err)
	}
	c.start = time.Now()
	go func() {
		defer close(c.eof)
		var once sync.Once
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			// Anything but an ack (a test binary's chatter) is ignored.
			n, ok := strings.CutPrefix(sc.Text(), "ack ")
			if !ok {
				continue
			}
			v, err := strconv.ParseUint(n, 10, 64)
			if err != nil {
				continue
			}
			c.lastAck.Store(v)
			c.acks.Add(1)
			once.Do(func() { close(c.firstAck) })
			select {
			case c.ackSig <- struct{}{}:
			default:
			}
		}
	}()
	return c, nil
}

// waitFirstAck waits until the child has acknowledged one write.
func (c *child) waitFirstAck(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.firstAck:
		return nil
	case <-c.eof:
		c.kill()
		return c.exitError()
	case <-t.C:
		return fmt.Errorf("writer acknowledged nothing in %v%s", timeout, c.stderrNote())
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitNextAck waits for an ack after those already received. It reports
// whether the child is still running.
func (c *child) waitNextAck(ctx context.Context, timeout time.Duration) (alive bool, err error) {
	select {
	case <-c.ackSig:
	default:
	}
	n := c.acks.Load()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case <-c.ackSig:
			if c.acks.Load() > n {
				return true, nil
			}
		case <-c.eof:
			return false, nil
		case <-t.C:
			return true, fmt.Errorf("writer acknowledged nothing in %v%s", timeout, c.stderrNote())
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// sleep waits for d, or less if the child exits or ctx is done; it reports
// whether the child is still running.
func (c *child) sleep(ctx context.Context, d time.Duration) (alive bool, err error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true, nil
	case <-c.eof:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// kill SIGKILLs the child (TerminateProcess on Windows), reads what is left
// of its acks and reaps it. Calling it again does nothing.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	c.cmd.Process.Kill()
	<-c.eof // every ack the child wrote before it died is counted
	c.waitErr = c.cmd.Wait()
}

func (c *child) exitError() error {
	return fmt.Errorf("writer exited on its own (%v)%s", c.waitErr, c.stderrNote())
}

func (c *child) stderrNote() string {
	if s := strings.TrimSpace(c.stderr.String()); s != "" {
		return ": " + s
	}
	return ""
}

// tail keeps the last few KiB written to it: enough of a child's stderr to
// say why it failed.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 4 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
