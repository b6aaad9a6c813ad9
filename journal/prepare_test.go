package journal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/durable-go/durable/vfs"
)

// The next batch is framed and hashed during the running batch's flush
// (prepare.go). These tests hold that flush on a gate, let a batch gather
// and be prepared behind it, then let the flush succeed or fail: the batch
// must be written as the plain path writes it, and never from a state the
// failed flush did not leave.

// gate holds the first Sync after arm until release says how it ends.
type gate struct {
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan error
}

func (g *gate) arm() {
	g.mu.Lock()
	g.armed, g.entered, g.release = true, make(chan struct{}), make(chan error)
	g.mu.Unlock()
}

type heldSyncFS struct {
	vfs.FS
	g *gate
}

func (s heldSyncFS) Unwrap() vfs.FS { return s.FS }

func (s heldSyncFS) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := s.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return heldSyncFile{f, s.g}, nil
}

type heldSyncFile struct {
	vfs.File
	g *gate
}

func (f heldSyncFile) Sync() error {
	g := f.g
	g.mu.Lock()
	armed, entered, release := g.armed, g.entered, g.release
	g.armed = false
	g.mu.Unlock()
	if armed {
		close(entered)
		if err := <-release; err != nil {
			return err
		}
	}
	return f.File.Sync()
}

var fixedClock = func() time.Time { return time.Unix(1_700_000_000, 0) }

// preparedRun appends a record, holds the flush of a second one, lets
// writers more records gather behind it and waits until they are
// prepared, then ends the held flush with flushErr. It returns the
// journal and its filesystem, the gathered payloads by the index each
// append returned, and the second append's error.
func preparedRun(t *testing.T, writers int, flushErr error) (vfs.FS, *Journal, map[uint64]string, error) {
	t.Helper()
	g := &gate{}
	fsys := heldSyncFS{vfs.NewMem(), g}
	j := mustOpen(t, "/j", &Options{FS: fsys, Now: fixedClock})
	if _, err := j.Append(bg, payload(0)); err != nil {
		t.Fatal(err)
	}
	g.arm()
	held := make(chan error, 1)
	go func() {
		_, err := j.Append(bg, payload(1))
		held <- err
	}()
	<-g.entered
	type result struct {
		index uint64
		p     string
		err   error
	}
	results := make(chan result, writers)
	for w := range writers {
		p := payload(2 + w)
		go func() {
			i, err := j.Append(bg, p)
			results <- result{i, string(p), err}
		}()
	}
	// Every writer has joined the next batch and been prepared: the
	// preparation keeps up with arrivals (the last one to join prepares
	// what the others left).
	for deadline := time.Now().Add(10 * time.Second); ; {
		j.prep.mu.Lock()
		n := len(j.prep.reqs)
		j.prep.mu.Unlock()
		if n == writers {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records prepared behind the held flush", n, writers)
		}
		time.Sleep(time.Millisecond)
	}
	g.release <- flushErr
	heldErr := <-held
	byIndex := map[uint64]string{}
	for range writers {
		r := <-results
		if r.err != nil {
			t.Fatalf("an append of the batch after the held flush failed: %v", r.err)
		}
		byIndex[r.index] = r.p
	}
	return fsys, j, byIndex, heldErr
}

// A batch prepared during a flush that succeeds is written as prepared,
// byte for byte what the plain path writes for the same records.
func TestPreparedBatchMatchesPlain(t *testing.T) {
	const writers = 8
	fsys, j, byIndex, heldErr := preparedRun(t, writers, nil)
	if heldErr != nil {
		t.Fatal(heldErr)
	}
	if j.adopted != writers {
		t.Fatalf("%d records written as prepared, want %d: the test does not reach the prepared path", j.adopted, writers)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	order := make([][]byte, 0, writers)
	for i := uint64(2); i < 2+writers; i++ {
		p, ok := byIndex[i]
		if !ok {
			t.Fatalf("no append returned index %d: %v", i, byIndex)
		}
		order = append(order, []byte(p))
	}
	plainFS := vfs.NewMem()
	plain := mustOpen(t, "/j", &Options{FS: plainFS, Now: fixedClock})
	for k := range 2 {
		if _, err := plain.Append(bg, payload(k)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := plain.AppendBatch(bg, order); err != nil {
		t.Fatal(err)
	}
	if plain.adopted != 0 {
		t.Fatal("the plain journal wrote prepared records")
	}
	plain.Close()
	got, want := segmentBody(t, fsys), segmentBody(t, plainFS)
	if !bytes.Equal(got, want) {
		t.Fatalf("the prepared batch's bytes differ from the plain path's (%d vs %d bytes)", len(got), len(want))
	}
	data, _, r, err := readAll(fsys, "/j", &Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if len(data) != 2+writers {
		t.Fatalf("%d records, want %d", len(data), 2+writers)
	}
}

// A flush that fails with a batch prepared behind it fails its own
// records only: the prepared batch was framed for a journal the failed
// flush did not leave, so it is framed again where the journal is, and its
// records get the indices after the last acknowledged one.
func TestFaultFlushUnderPreparedBatch(t *testing.T) {
	const writers = 8
	fsys, j, byIndex, heldErr := preparedRun(t, writers, syscall.EIO)
	if !errors.Is(heldErr, syscall.EIO) {
		t.Fatalf("the append whose flush failed returned %v, want EIO", heldErr)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	data, _, r, err := readAll(fsys, "/j", &Options{})
	if err != nil {
		t.Fatalf("the log does not open after the failed flush: %v", err)
	}
	defer r.Close()
	if _, err := Verify(bg, "/j", &VerifyOptions{FS: fsys}); err != nil {
		t.Fatalf("the log does not verify after the failed flush: %v", err)
	}
	if slices.Contains(data, string(payload(1))) {
		t.Fatal("the record whose flush failed is in the log")
	}
	for i, p := range byIndex {
		rec, err := r.Record(bg, i)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if string(rec.Payload) != p {
			t.Fatalf("record %d holds %.12q, but its append returned that index for %.12q", i, rec.Payload, p)
		}
	}
	if len(data) != 1+writers {
		t.Fatalf("%d records, want %d", len(data), 1+writers)
	}
}

// segmentBody returns the first segment of /j after its header (which
// holds the log's random id).
func segmentBody(t *testing.T, fsys vfs.FS) []byte {
	t.Helper()
	f, err := fsys.OpenFile(filepath.Join("/j", segName(0)), os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<30))
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := decodeHeader(b)
	if err != nil || h == nil {
		t.Fatal(fmt.Errorf("segment header: %v", err))
	}
	return bytes.TrimRight(b[h.length:], "\x00")
}
