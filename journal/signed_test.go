package journal

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

func testKey(t testing.TB, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func appendN(t testing.TB, j *Journal, from, n int) {
	t.Helper()
	for k := from; k < from+n; k++ {
		if _, err := j.Append(bg, payload(k)); err != nil {
			t.Fatal(err)
		}
	}
}

// copyDir copies a journal directory, as a backup or a copy to another
// machine would.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

func wantTampered(t testing.TB, err error, what string) {
	t.Helper()
	if !errors.Is(err, ErrTampered) {
		t.Fatalf("%s: got %v, want an error wrapping ErrTampered", what, err)
	}
}

// sameFile fails unless path holds want (nil: does not exist).
func sameFile(t testing.TB, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if want == nil {
		if err == nil {
			t.Fatalf("%s exists", path)
		}
		return
	}
	if err != nil || string(got) != string(want) {
		t.Fatalf("%s changed (%v)", path, err)
	}
}

func TestCheckpointRefusesRestoredBackup(t *testing.T) {
	tmp := testdir.New(t)
	dir, backup := filepath.Join(tmp, "log"), filepath.Join(tmp, "backup")
	mem := filepath.Join(tmp, "key.signed")
	signer, _ := testKey(t, "example.com/log")
	j := mustOpen(t, dir, &Options{SegmentSize: 4096})
	appendN(t, j, 0, 5)
	if _, err := j.CheckpointWith(bg, signer, &CheckpointOptions{Memory: mem}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	copyDir(t, dir, backup) // taken with a checkpoint of 5 and its memory
	j = mustOpen(t, dir, &Options{SegmentSize: 4096})
	appendN(t, j, 5, 5)
	if _, err := j.CheckpointWith(bg, signer, &CheckpointOptions{Memory: mem}); err != nil {
		t.Fatal(err)
	}
	j.Close()

	for _, tc := range []struct {
		name    string
		records int // appended after the restore
	}{{"as restored", 0}, {"smaller", 2}, {"same size", 5}, {"larger", 9}} {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(testdir.New(t), "log")
			copyDir(t, backup, d)
			j := mustOpen(t, d, &Options{SegmentSize: 4096})
			defer j.Close()
			appendN(t, j, 100, tc.records)
			before, _ := os.ReadFile(filepath.Join(d, checkpointName))
			memBefore, _ := os.ReadFile(mem)
			_, err := j.CheckpointWith(bg, signer, &CheckpointOptions{Memory: mem})
			wantTampered(t, err, "checkpoint of a restored backup")
			sameFile(t, filepath.Join(d, checkpointName), before)
			sameFile(t, mem, memBefore)
		})
	}
}

func TestCheckpointRefusesDivergedCopy(t *testing.T) {
	tmp := testdir.New(t)
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	signer, _ := testKey(t, "example.com/log")
	ja := mustOpen(t, a, nil)
	appendN(t, ja, 0, 3)
	if _, err := ja.Checkpoint(bg, signer); err != nil {
		t.Fatal(err)
	}
	ja.Close()
	copyDir(t, a, b)
	// Each copy grows on its own; both sign with the same key and
	// memory, kept beside the key.
	mem := filepath.Join(tmp, "key.signed")
	ja = mustOpen(t, a, nil)
	defer ja.Close()
	jb := mustOpen(t, b, nil)
	defer jb.Close()
	appendN(t, ja, 10, 2)
	appendN(t, jb, 20, 4)
	if _, err := ja.CheckpointWith(bg, signer, &CheckpointOptions{Memory: mem}); err != nil {
		t.Fatal(err)
	}
	_, err := jb.CheckpointWith(bg, signer, &CheckpointOptions{Memory: mem})
	wantTampered(t, err, "checkpoint of a diverged copy")
}

func TestCheckpointRefusesTruncation(t *testing.T) {
	dir := testdir.New(t)
	signer, _ := testKey(t, "example.com/log")
	j := mustOpen(t, dir, &Options{SegmentSize: 4096})
	appendN(t, j, 0, 60)
	if _, err := j.Checkpoint(bg, signer); err != nil {
		t.Fatal(err)
	}
	j.Close()
	bases, _ := listSegments(vfs.OS{}, dir)
	if len(bases) < 3 {
		t.Fatalf("want several segments, got %d", len(bases))
	}
	// Remove the last segment and the checkpoint, and reopen: the log
	// is shorter, with nothing that says so but the memory.
	os.Remove(filepath.Join(dir, segName(bases[len(bases)-1])))
	os.Remove(filepath.Join(dir, checkpointName))
	j2, err := Open(dir, &Options{SegmentSize: 4096})
	if err != nil {
		t.Skipf("the truncated log does not open (%v): nothing to sign", err)
	}
	defer j2.Close()
	_, err = j2.Checkpoint(bg, signer)
	wantTampered(t, err, "checkpoint of a truncated log")
	sameFile(t, filepath.Join(dir, checkpointName), nil)
}

// patchLogID rewrites the log id of every segment in dir and fixes the
// header checksum: what an attacker who read FORMAT.md does.
func patchLogID(t testing.TB, dir string, id [16]byte) {
	t.Helper()
	bases, err := listSegments(vfs.OS{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bases {
		p := filepath.Join(dir, segName(b))
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		copy(data[16:32], id[:])
		end := 72 + 32*int(binary.LittleEndian.Uint32(data[64:]))
		binary.LittleEndian.PutUint32(data[end:], maskCRC(crc32.Checksum(data[:end], castagnoli)))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// forgeAfter replaces the log in dir with one of the same log id that
// starts after its checkpoint: issue 19's forged-retention attack, done
// without the key. It returns the forged log's first index.
func forgeAfter(t testing.TB, dir string) uint64 {
	t.Helper()
	real := mustOpen(t, dir, &Options{ReadOnly: true})
	id := real.LogID()
	real.Close()
	forged := filepath.Join(testdir.New(t), "forged")
	f := mustOpen(t, forged, &Options{SegmentSize: 4096})
	for k := range 80 {
		if _, err := f.Append(bg, []byte(strings.Repeat("forged ", 20)+string(rune('a'+k%26)))); err != nil {
			t.Fatal(err)
		}
	}
	first, err := f.DropBefore(bg, 60)
	if err != nil || first == 0 {
		t.Fatalf("drop: %d %v", first, err)
	}
	f.Close()
	patchLogID(t, forged, id)
	for _, n := range []string{signedName, checkpointName} {
		os.Remove(filepath.Join(forged, n))
	}
	cp, err := os.ReadFile(filepath.Join(dir, checkpointName))
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
	copyDir(t, forged, dir)
	os.Remove(filepath.Join(dir, signedName))
	if err := os.WriteFile(filepath.Join(dir, checkpointName), cp, 0o644); err != nil {
		t.Fatal(err)
	}
	return first
}

func TestForgedRetentionRefused(t *testing.T) {
	dir := filepath.Join(testdir.New(t), "log")
	mem := filepath.Join(testdir.New(t), "key.signed")
	signer, verifier := testKey(t, "example.com/log")
	j := mustOpen(t, dir, &Options{SegmentSize: 4096})
	appendN(t, j, 0, 10)
	remembered, err := j.CheckpointWith(bg, signer, &CheckpointOptions{Memory: mem})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	forgeAfter(t, dir)

	_, err = Verify(bg, dir, &VerifyOptions{Verifier: verifier, Remembered: remembered})
	wantTampered(t, err, "verify of the forged log")
	_, err = Verify(bg, dir, &VerifyOptions{Verifier: verifier})
	wantTampered(t, err, "verify of the forged log without a remembered checkpoint")

	// The key holder's next checkpoint refuses to sign the forgery, with
	// the memory beside the key and without it.
	for _, o := range []*CheckpointOptions{{Memory: mem}, nil} {
		j = mustOpen(t, dir, &Options{SegmentSize: 4096})
		before, _ := os.ReadFile(filepath.Join(dir, checkpointName))
		_, err = j.CheckpointWith(bg, signer, o)
		wantTampered(t, err, "checkpoint of the forged log")
		sameFile(t, filepath.Join(dir, checkpointName), before)
		j.Close()
	}
}

// Genuine retention keeps every checkpoint it knows of verifiable: the
// retention record carries proofs from the signed trees it drops, across
// several drops.
func TestRetentionKeepsCheckpointsVerifiable(t *testing.T) {
	dir := testdir.New(t)
	signer, verifier := testKey(t, "example.com/log")
	j := mustOpen(t, dir, &Options{SegmentSize: 4096})
	defer j.Close()
	var notes [][]byte
	n := 0
	for round := range 4 {
		appendN(t, j, n, 13+round*7)
		n += 13 + round*7
		cp, err := j.Checkpoint(bg, signer)
		if err != nil {
			t.Fatal(err)
		}
		notes = append(notes, cp)
		appendN(t, j, n, 40)
		n += 40
		size := j.Size()
		if _, err := j.DropBefore(bg, size-5); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(bg, dir, &VerifyOptions{Verifier: verifier, Remembered: cp})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if rep.First <= rep.Checkpoint.Size {
			t.Fatalf("round %d: the drop kept the checkpoint's records (first %d, checkpoint %d): the test tests nothing", round, rep.First, rep.Checkpoint.Size)
		}
		if _, err := j.Checkpoint(bg, signer); err != nil {
			t.Fatalf("round %d: checkpoint after the drop: %v", round, err)
		}
		// The checkpoint taken after the drop is remembered; the one
		// before it, which the drop anchored, still verifies as
		// remembered too.
		if _, err := Verify(bg, dir, &VerifyOptions{Verifier: verifier, Remembered: cp}); err != nil {
			t.Fatalf("round %d: remembered pre-drop checkpoint: %v", round, err)
		}
	}
	// A remembered checkpoint with a wrong root for an anchored size is
	// caught.
	c, _ := ParseCheckpoint(notes[0], nil)
	body := strings.Replace(string(notes[0]), c.Root.Base64(), Hash{1}.Base64(), 1)
	i := strings.Index(body, "\n\n")
	forged, err := note.Sign(&note.Note{Text: body[:i+1]}, signer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Verify(bg, dir, &VerifyOptions{Verifier: verifier, Remembered: forged})
	wantTampered(t, err, "verify against a checkpoint with another root")
}
