package journal

import (
	"io"
	"os"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/vfs"
)

// watchSigner notes the recorder's step when it signs.
type watchSigner struct {
	note.Signer
	mu   sync.Mutex
	at   func() int
	step int
}

func (s *watchSigner) Sign(msg []byte) ([]byte, error) {
	s.mu.Lock()
	s.step = s.at()
	s.mu.Unlock()
	return s.Signer.Sign(msg)
}

func copyVFSFile(t *testing.T, from, to vfs.FS, name string) {
	t.Helper()
	f, err := from.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return // not there: nothing to carry
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	g, err := to.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Write(data); err != nil {
		t.Fatal(err)
	}
	g.Sync()
	g.Close()
	to.SyncDir("/")
}

// A crash at any point of a checkpoint, then a restore of an older copy of
// the log: once a signature over the larger tree exists, the next run
// never signs the older one, and without the restore it signs the same
// tree again or a larger one, never refusing the genuine log.
func TestCrashCheckpointNeverSignsInconsistent(t *testing.T) {
	m := vfs.NewMem()
	o := &Options{FS: m, SegmentSize: 4096}
	s, _ := testKey(t, "example.com/log")
	const mem = "/key.signed"
	j := mustOpen(t, "/j", o)
	appendN(t, j, 0, 5)
	if _, err := j.CheckpointWith(bg, s, &CheckpointOptions{Memory: mem}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	backup := m.Crash(1)
	j = mustOpen(t, "/j", o)
	appendN(t, j, 5, 30)
	size, root, err := j.Head(bg)
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder(m, crashSeeds)
	ws := &watchSigner{Signer: s, step: -1, at: func() int { r.mu.Lock(); defer r.mu.Unlock(); return r.step }}
	if _, err := j.CheckpointWith(bg, ws, &CheckpointOptions{Memory: mem}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	states := r.after()
	refusals := 0
	for _, st := range states {
		rest := backup.Crash(1)
		copyVFSFile(t, st.fs, rest, mem)
		jo := &Options{FS: st.fs, SegmentSize: 4096}
		j, err := Open("/j", jo)
		if err != nil {
			t.Fatalf("%v: open: %v", st, err)
		}
		msg, err := j.CheckpointWith(bg, s, &CheckpointOptions{Memory: mem})
		j.Close()
		if err != nil {
			t.Fatalf("%v: the genuine log is refused: %v", st, err)
		}
		if c, _ := ParseCheckpoint(msg, nil); c.Size != size || c.Root != root {
			t.Fatalf("%v: signed %d records with another root, want %d", st, c.Size, size)
		}

		j, err = Open("/j", &Options{FS: rest, SegmentSize: 4096})
		if err != nil {
			t.Fatalf("%v: open the restored copy: %v", st, err)
		}
		_, err = j.CheckpointWith(bg, s, &CheckpointOptions{Memory: mem})
		j.Close()
		if ws.step >= 0 && st.step > ws.step || st.op == "returned" {
			wantTampered(t, err, st.String()+": checkpoint of the restored copy after the larger tree was signed")
		}
		if err != nil {
			refusals++
		}
	}
	if ws.step < 0 || refusals == 0 || refusals == len(states) {
		t.Fatalf("signed at step %d, %d refusals: the test checks nothing", ws.step, refusals)
	}
	t.Logf("%d crash states, signed after step %d, %d refusals", len(states), ws.step, refusals)
}
