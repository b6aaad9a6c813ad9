package bench

import (
	"bytes"
	"context"
	"github.com/durable-go/durable/internal/testdir"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/queue"
)

func testExe(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	return exe
}

// TestWorkersCountWhatTheyDid: two processes of two goroutines append to
// one journal; the operations they report are exactly the records in it.
func TestWorkersCountWhatTheyDid(t *testing.T) {
	path := filepath.Join(testdir.New(t), "journal")
	ws, err := StartWorkers(testExe(t), 2, WorkerSpec{Kind: "journal", Path: path, Goroutines: 2, Size: 64})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for range 2 {
		n, el, err := ws.Run(50 * time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if n <= 0 || el < 50*time.Millisecond {
			t.Errorf("%d operations in %v", n, el)
		}
		total += n
	}
	if err := ws.Close(); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(path, &journal.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if got := int64(j.Size()); got != total {
		t.Errorf("the journal holds %d records, the workers reported %d", got, total)
	}
}

// TestWorkerQueueAndStore: the other kinds run, and a queue's round trips
// leave nothing pending.
func TestWorkerQueueAndStore(t *testing.T) {
	dir := testdir.New(t)
	q := filepath.Join(dir, "queue")
	ws, err := StartWorkers(testExe(t), 2, WorkerSpec{Kind: "queue", Path: q, Goroutines: 2, Size: 32})
	if err != nil {
		t.Fatal(err)
	}
	if n, _, err := ws.Run(50 * time.Millisecond); err != nil || n == 0 {
		t.Errorf("queue: %d operations, %v", n, err)
	}
	if err := ws.Close(); err != nil {
		t.Fatal(err)
	}
	qq, err := queue.Open(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if m, err := qq.Pop(ctx, time.Minute); err == nil {
		t.Errorf("message %v left pending after push+pop+ack round trips", m.ID)
	}
	qq.Close()

	doc := filepath.Join(dir, "doc.json")
	before, err := SeedStore(doc, 10)
	if err != nil {
		t.Fatal(err)
	}
	ws, err = StartWorkers(testExe(t), 2, WorkerSpec{Kind: "store", Path: doc, Goroutines: 1, Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if n, _, err := ws.Run(50 * time.Millisecond); err != nil || n == 0 {
		t.Errorf("store: %d operations, %v", n, err)
	}
	if err := ws.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, after) {
		t.Error("the store workers changed nothing")
	}
}

func TestWorkerRefusesAnUnknownKind(t *testing.T) {
	if _, err := StartWorkers(testExe(t), 1, WorkerSpec{Kind: "nonesuch", Path: testdir.New(t)}); err == nil {
		t.Fatal("a worker of an unknown kind started")
	}
}

// sink keeps the test's ballast reachable.
var sink []byte

// TestSpawnerMeasuresTheChildAlone: a child started by this process is
// charged (on Linux) with this process's peak memory; one started by the
// spawner is not.
func TestSpawnerMeasuresTheChildAlone(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ru_maxrss inherited through vfork is Linux's")
	}
	const ballast = 96 << 20
	sink = bytes.Repeat([]byte{1}, ballast)
	defer func() { sink = nil }()

	file := filepath.Join(testdir.New(t), "lines")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := StartSpawner(testExe(t))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	r, err := sp.Run([]string{testExe(t)}, OneShotEnv+"=append-line:"+file)
	if err != nil {
		t.Fatal(err)
	}
	if r.MaxRSS <= 0 || r.MaxRSS >= ballast/2 {
		t.Errorf("spawned child's peak RSS %d MiB, want more than 0 and far below this process's %d MiB", r.MaxRSS>>20, ballast>>20)
	}
	if r.Elapsed <= 0 {
		t.Errorf("elapsed %v", r.Elapsed)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]byte(nil), JSONLine...), '\n'); !bytes.Equal(data, want) {
		t.Errorf("the one-shot child wrote %q, want %q", data, want)
	}

	// A failing command is an error with its stderr.
	if _, err := sp.Run([]string{testExe(t)}, OneShotEnv+"=nonesuch:x"); err == nil {
		t.Error("a failing child reported success")
	}
}

func TestJournalFootprint(t *testing.T) {
	u, err := JournalFootprint(filepath.Join(testdir.New(t), "j"), 5)
	if err != nil {
		t.Fatal(err)
	}
	if u.Files == 0 || u.Apparent < 5*128 {
		t.Errorf("footprint %+v: want files holding at least the 5 records", u)
	}
}
