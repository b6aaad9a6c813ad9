package journal

import (
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

func addBody(old uint64, msg []byte) []byte {
	return append(fmt.Appendf(nil, "old %d\n\n", old), msg...)
}

// A witness that crashes at any point while cosigning and restarts never
// cosigns a tree inconsistent with one it already answered for.
func TestCrashWitnessNeverCosignsFork(t *testing.T) {
	s, v := testKey(t, "example.com/log")
	notes := map[string][]byte{}
	for _, name := range []string{"a", "b"} {
		j := mustOpen(t, filepath.Join(testdir.New(t), name), nil)
		if err := j.SetOrigin(bg, "example.com/log"); err != nil {
			t.Fatal(err)
		}
		for k := range 5 {
			if _, err := j.Append(bg, []byte(name+fmt.Sprint(k))); err != nil {
				t.Fatal(err)
			}
		}
		msg, err := j.Checkpoint(bg, s)
		if err != nil {
			t.Fatal(err)
		}
		notes[name] = msg
		j.Close()
	}
	skey, _, _ := GenerateWitnessKey(rand.Reader, "w.example")
	ws, _ := NewCosignatureSigner(skey)
	m := vfs.NewMem()
	open := func(fsys vfs.FS) (*Journal, *WitnessServer) {
		j, err := Open("/w", &Options{FS: fsys, HoldLock: true, SegmentSize: 4096})
		if err != nil {
			t.Fatalf("open the witness state: %v", err)
		}
		w, err := NewWitnessServer(bg, j, ws, []note.Verifier{v})
		if err != nil {
			t.Fatal(err)
		}
		return j, w
	}
	j, _ := open(m) // creates the state journal, synced
	j.Close()
	j, w := open(m)
	r := newRecorder(m, crashSeeds)
	if _, code, err := w.add(bg, addBody(0, notes["a"])); err != nil {
		t.Fatalf("cosign a: %d %v", code, err)
	}
	r.mu.Lock()
	answered := r.step
	r.mu.Unlock()
	j.Close()
	checked := 0
	for _, st := range r.after() {
		j, w := open(st.fs)
		_, code, err := w.add(bg, addBody(0, notes["b"]))
		if st.step >= answered {
			checked++
			var c *conflictSize
			if !errors.As(err, &c) || c.size != 5 || code != 409 {
				t.Fatalf("%v: after answering for tree a, the fork b with old 0: %d %v", st, code, err)
			}
		}
		j.Close()
	}
	if checked == 0 {
		t.Fatal("no state after the answer: the test checks nothing")
	}
}
