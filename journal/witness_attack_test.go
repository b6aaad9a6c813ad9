package journal

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/internal/testdir"
)

// The attacks witnesses exist for, each by someone who holds the log's
// key: every one passes Verify with the key alone, and fails it with the
// witnesses.

type witnessSetup struct {
	dir    string
	s      note.Signer
	v      note.Verifier
	w1, w2 *testWitness
}

func newWitnessSetup(t *testing.T) *witnessSetup {
	dir := filepath.Join(testdir.New(t), "log")
	j, s, v := witnessedLog(t, dir)
	defer j.Close()
	w1, w2 := newTestWitness(t, "w1.example", v), newTestWitness(t, "w2.example", v)
	for name, w := range map[string]*testWitness{"w1": w1, "w2": w2} {
		if err := j.AddWitness(bg, name, w.url, w.vkey); err != nil {
			t.Fatal(err)
		}
	}
	var r reports
	for round := range 2 {
		appendN(t, j, round*10, 10)
		if _, err := j.CheckpointWith(bg, s, r.opts()); err != nil || len(r.errs) > 0 {
			t.Fatal(err, r.errs)
		}
	}
	return &witnessSetup{dir: dir, s: s, v: v, w1: w1, w2: w2}
}

// attackerCheckpoint signs dir's log with the real key, as an attacker
// who bypasses every memory would, and pushes it to the configured
// witnesses.
func (ws *witnessSetup) attackerCheckpoint(t *testing.T, dir string) {
	t.Helper()
	os.Remove(filepath.Join(dir, signedName))
	os.Remove(filepath.Join(dir, checkpointName))
	j := mustOpen(t, dir, nil)
	defer j.Close()
	var r reports
	j.CheckpointWith(bg, ws.s, r.opts())
}

func (ws *witnessSetup) caught(t *testing.T, dir string, quorum int) {
	t.Helper()
	if _, err := Verify(bg, dir, &VerifyOptions{Verifier: ws.v}); err != nil {
		t.Fatalf("without witnesses the attack should pass verification (else this test tests nothing): %v", err)
	}
	_, err := Verify(bg, dir, &VerifyOptions{Verifier: ws.v, Witnesses: []note.Verifier{ws.w1.v, ws.w2.v}, Quorum: quorum})
	wantTampered(t, err, "verify with the witnesses")
}

// replaceRecords builds a log of n records of other content with the
// original's configuration (origin, witnesses and their sizes).
func (ws *witnessSetup) rewrite(t *testing.T, n int, seed int) string {
	dir := filepath.Join(testdir.New(t), "rewritten")
	j := mustOpen(t, dir, nil)
	appendN(t, j, 1000*seed, n)
	j.Close()
	for _, f := range []string{originName, witnessesName} {
		data, err := os.ReadFile(filepath.Join(ws.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	return dir
}

func TestAttackRewrittenHistoryResigned(t *testing.T) {
	ws := newWitnessSetup(t)
	dir := ws.rewrite(t, 25, 7)
	ws.attackerCheckpoint(t, dir)
	ws.caught(t, dir, 1)
}

func TestAttackTruncatedLogResigned(t *testing.T) {
	ws := newWitnessSetup(t)
	dir := filepath.Join(testdir.New(t), "truncated")
	// The first 12 records of the genuine log, and the witness state of a
	// backup taken at 10.
	j := mustOpen(t, dir, nil)
	appendN(t, j, 0, 12)
	j.Close()
	copyConfig(t, ws.dir, dir)
	w, _ := Witnesses(dir)
	for i := range w {
		w[i].Size = 10
	}
	os.WriteFile(filepath.Join(dir, witnessesName), marshalWitnesses(w), 0o644)
	ws.attackerCheckpoint(t, dir)
	ws.caught(t, dir, 1)
}

func copyConfig(t *testing.T, from, to string) {
	for _, f := range []string{originName, witnessesName} {
		data, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(to, f), data, 0o644)
	}
}

func TestAttackForkToTwoWitnesses(t *testing.T) {
	ws := newWitnessSetup(t)
	forks := map[string]*testWitness{"a": ws.w1, "b": ws.w2}
	dirs := map[string]string{}
	for name, w := range forks {
		dir := filepath.Join(testdir.New(t), name)
		copyDir(t, ws.dir, dir)
		j := mustOpen(t, dir, nil)
		for _, other := range []string{"w1", "w2"} {
			if (other == "w1") != (w == ws.w1) {
				if err := j.RemoveWitness(bg, other); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := j.Append(bg, []byte("fork "+name)); err != nil {
			t.Fatal(err)
		}
		j.Close()
		ws.attackerCheckpoint(t, dir)
		dirs[name] = dir
	}
	for name, dir := range dirs {
		// Each fork carries one cosignature: a quorum of one is fooled,
		// a quorum of both is not.
		if _, err := Verify(bg, dir, &VerifyOptions{Verifier: ws.v, Witnesses: []note.Verifier{ws.w1.v, ws.w2.v}, Quorum: 1}); err != nil {
			t.Fatalf("fork %s with quorum 1: %v (want it to pass: one witness saw it)", name, err)
		}
		ws.caught(t, dir, 2)
	}
	// Shown to the other witness, a fork is refused as inconsistent.
	j := mustOpen(t, dirs["a"], nil)
	defer j.Close()
	if err := j.AddWitness(bg, "w2", ws.w2.url, ws.w2.vkey); err != nil {
		t.Fatal(err)
	}
	var r reports
	_, err := j.CheckpointWith(bg, ws.s, r.opts())
	wantTampered(t, err, "fork a shown to the witness that cosigned fork b")
}
