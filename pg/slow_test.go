package pg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// freezer is a TCP proxy to the test server that can stop passing bytes,
// as a server that hangs (or a network that drops everything) would.
type freezer struct {
	ln     net.Listener
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newFreezer(t *testing.T, target string) (*freezer, string) {
	cfg, err := pgx.ParseConfig(target)
	if err != nil {
		t.Skipf("DURABLE_TEST_PG does not parse: %v", err)
	}
	network, addr := "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	if filepath.IsAbs(cfg.Host) {
		network, addr = "unix", filepath.Join(cfg.Host, fmt.Sprintf(".s.PGSQL.%d", cfg.Port))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln}
	t.Cleanup(f.close)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial(network, addr)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, s)
			f.mu.Unlock()
			go f.pipe(c, s)
			go f.pipe(s, c)
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	u := fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", cfg.User, port, cfg.Database)
	if cfg.Password != "" {
		u = fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", cfg.User, cfg.Password, port, cfg.Database)
	}
	return f, u
}

func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for f.frozen.Load() {
			time.Sleep(10 * time.Millisecond) // hold what was read: nothing passes
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			return
		}
	}
}

func (f *freezer) close() {
	f.frozen.Store(false)
	f.ln.Close()
	f.mu.Lock()
	for _, c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
}

// A server that stops answering mid-session: every call returns when its
// context ends, not when the server (or TCP) gives up.
func TestHungServerEndsEveryCallOnTime(t *testing.T) {
	f, u := newFreezer(t, testURL(t))
	schema := testSchema(t)
	db, err := Open(ctxT(t), u, &Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := ctxT(t)
	st, err := OpenStore[settings](db, "doc", nil)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := db.Queue("q", nil)
	if _, err := q.Push(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	m, err := q.Pop(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	held, err := db.Lock(ctx, "held")
	if err != nil {
		t.Fatal(err)
	}
	f.frozen.Store(true)
	calls := map[string]func(context.Context) error{
		"Get": func(c context.Context) error { _, _, err := st.GetContext(c); return err },
		"Update": func(c context.Context) error {
			_, err := st.Update(c, func(v *settings) error { v.Runs++; return nil })
			return err
		},
		"Push":  func(c context.Context) error { _, err := q.Push(c, []byte("y")); return err },
		"Pop":   func(c context.Context) error { _, err := q.Pop(c, time.Minute); return err },
		"Ack":   func(c context.Context) error { return q.Ack(c, m.Lease) },
		"Lock":  func(c context.Context) error { _, err := db.Lock(c, "other"); return err },
		"Check": func(c context.Context) error { return held.Check(c) },
		"Stats": func(c context.Context) error { _, err := q.Stats(c); return err },
	}
	var wg sync.WaitGroup
	for name, call := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := call(c)
			took := time.Since(start)
			if err == nil {
				t.Errorf("%s succeeded against a hung server", name)
			} else if !errors.Is(err, context.DeadlineExceeded) && took < 400*time.Millisecond {
				t.Errorf("%s failed early: %v", name, err)
			}
			if took > 2*time.Second {
				t.Errorf("%s took %v with a 500ms context: %v", name, took, err)
			}
		}()
	}
	wg.Wait()
	if err := held.Check(ctx); err == nil {
		t.Error("a lock whose Check could not reach the server still says it is held")
	}
	f.close() // the calls still in flight fail now, and Close need not wait for them
}
