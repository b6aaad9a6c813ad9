package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/queue"
)

// ProcessRun is one run of a command, start to exit.
type ProcessRun struct {
	Elapsed time.Duration
	MaxRSS  int64 // peak resident memory in bytes; 0 where the platform does not say
}

// RunProcess runs cmd to its end and returns how long it took and its peak
// resident memory. A non-zero exit is an error carrying its stderr. On
// Linux the peak is at least this process's own (see Spawner): run it
// from a Spawner where that matters.
func RunProcess(cmd *exec.Cmd) (ProcessRun, error) {
	var stderr bytes.Buffer
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	}
	start := time.Now()
	err := cmd.Run()
	r := ProcessRun{Elapsed: time.Since(start)}
	if cmd.ProcessState != nil {
		r.MaxRSS = maxRSS(cmd.ProcessState)
	}
	if err != nil {
		return r, fmt.Errorf("%s: %w: %s", cmd.Args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return r, nil
}

// FillQueue pushes n messages of size bytes to the queue in dir, in large
// batches (one flush per batch), and closes it: the backlog of the CLI pop
// workload.
func FillQueue(dir string, n, size int) error {
	q, err := queue.Open(dir, nil)
	if err != nil {
		return err
	}
	msg := payload(size)
	batch := make([][]byte, 0, 4096)
	for pushed := 0; pushed < n; pushed += len(batch) {
		batch = batch[:0]
		for range min(cap(batch), n-pushed) {
			batch = append(batch, msg)
		}
		if _, err := q.PushBatch(context.Background(), batch); err != nil {
			q.Close()
			return err
		}
	}
	return q.Close()
}

// JSONLine is one line of the JSON Lines file the CLI append workload
// grows: about 128 bytes with its newline.
var JSONLine = []byte(`{"event":"message","session":"4c2a9e","role":"assistant","text":"` +
	string(bytes.Repeat([]byte("x"), 48)) + `"}`)

// FillJSONL writes lines of JSONLine to a new file at path until it holds
// at least size bytes, then fsyncs it and its directory.
func FillJSONL(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for written := int64(0); written < size; written += int64(len(JSONLine)) + 1 {
		w.Write(JSONLine)
		w.WriteByte('\n')
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// DiskUsage is what the files under a path take.
type DiskUsage struct {
	Allocated int64 // bytes of blocks allocated (st_blocks); the apparent size where the platform does not say
	Apparent  int64 // sum of the files' sizes
	Files     int
}

// Usage adds up the files under path (a file or a directory tree).
func Usage(path string) (DiskUsage, error) {
	var u DiskUsage
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		u.Files++
		u.Apparent += fi.Size()
		u.Allocated += allocated(fi)
		return nil
	})
	return u, err
}

// JournalFootprint appends records 128-byte records to a new journal in
// dir, one Append each, closes it and returns what it takes on disk.
func JournalFootprint(dir string, records int) (DiskUsage, error) {
	j, err := journal.Open(dir, nil)
	if err != nil {
		return DiskUsage{}, err
	}
	rec := payload(128)
	for range records {
		if _, err := j.Append(context.Background(), rec); err != nil {
			j.Close()
			return DiskUsage{}, err
		}
	}
	if err := j.Close(); err != nil {
		return DiskUsage{}, err
	}
	return Usage(dir)
}
