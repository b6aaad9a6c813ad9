package interop

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/durable-go/durable/journal"
)

var bg = context.Background()

const origin = "example.com/interop"

func logKey(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return s, v
}

// newLog makes a log of n records with origin and a checkpoint.
func newLog(t testing.TB, dir string, n int, s note.Signer) *journal.Journal {
	t.Helper()
	j, err := journal.Open(dir, &journal.Options{TileEntries: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	if err := j.SetOrigin(bg, origin); err != nil {
		t.Fatal(err)
	}
	appendRecords(t, j, n)
	if _, err := j.Checkpoint(bg, s); err != nil {
		t.Fatal(err)
	}
	return j
}

func appendRecords(t testing.TB, j *journal.Journal, n int) {
	t.Helper()
	if n == 0 {
		return
	}
	batch := make([][]byte, n)
	for i := range batch {
		batch[i] = fmt.Appendf(nil, "record %d of the interop log %s", int(j.Size())+i, strings.Repeat("x", i%300))
	}
	if _, err := j.AppendBatch(bg, batch); err != nil {
		t.Fatal(err)
	}
}

// torchwood's tile client reads the served log: it checks every tile and
// entry bundle against the checkpoint's tree, which we sign.
func TestTorchwoodClientVerifiesServedLog(t *testing.T) {
	s, v := logKey(t)
	j := newLog(t, t.TempDir(), 700, s)
	srv := httptest.NewServer(j.TilesHandler())
	defer srv.Close()

	fetcher, err := torchwood.NewTileFetcher(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := fetcher.ReadEndpoint(bg, "checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := torchwood.ParseCheckpoint(n.Text)
	if err != nil || cp.Origin != origin || cp.N != int64(j.Size()) {
		t.Fatalf("checkpoint %+v: %v", cp, err)
	}
	client, err := torchwood.NewClient(fetcher)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for r, err := range j.Scan(0) {
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, r.LeafData())
	}
	// Entries stops before a trailing partial tile; resuming with the
	// same tree reads it.
	got := 0
	for round := 0; got < len(want) && round < 3; round++ {
		for i, e := range client.Entries(bg, cp.Tree, int64(got)) {
			if i != int64(got) || string(e) != string(want[i]) {
				t.Fatalf("entry %d differs", i)
			}
			got++
		}
		if err := client.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.Err(); err != nil || got != len(want) {
		t.Fatalf("torchwood read %d of %d entries: %v", got, len(want), err)
	}
	e, proof, err := client.Entry(bg, cp.Tree, 513)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(proof, cp.N, cp.Hash, 513, tlog.RecordHash(e)); err != nil {
		t.Fatal(err)
	}

	// The client's checks are real: a log whose served bytes differ from
	// the signed tree is refused.
	flip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		j.TilesHandler().ServeHTTP(rec, r)
		b := rec.Body.Bytes()
		if strings.HasPrefix(r.URL.Path, "/tile/entries/001") && len(b) > 100 {
			b[100] ^= 1
		}
		w.WriteHeader(rec.Code)
		w.Write(b)
	}))
	defer flip.Close()
	ff, _ := torchwood.NewTileFetcher(flip.URL)
	fc, _ := torchwood.NewClient(ff)
	for range fc.Entries(bg, cp.Tree, 0) {
	}
	if fc.Err() == nil {
		t.Fatal("torchwood accepted an altered entry bundle")
	}
}

// twKeys makes a witness key as torchwood does, and the same key in our
// format.
func twKeys(t testing.TB, name string) (*torchwood.CosignatureSigner, string, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tw, err := torchwood.NewCosignatureSigner(name, priv)
	if err != nil {
		t.Fatal(err)
	}
	vkey := tw.Verifier().String()
	parts := strings.SplitN(vkey, "+", 3)
	skey := fmt.Sprintf("PRIVATE+KEY+%s+%s+%s", parts[0], parts[1], base64.StdEncoding.EncodeToString(append([]byte{4}, priv.Seed()...)))
	return tw, skey, vkey
}

// Our witness's cosignatures verify with torchwood's cosignature code, and
// torchwood's cosignatures, made by our witness server, with ours.
func TestCosignaturesInterop(t *testing.T) {
	s, v := logKey(t)
	dir := t.TempDir()
	j := newLog(t, dir, 10, s)
	tw, skey, vkey := twKeys(t, "witness.example/interop")
	ours, err := journal.NewCosignatureSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	if ov, err := journal.NewCosignatureVerifier(vkey); err != nil || ov.KeyHash() != tw.Verifier().KeyHash() {
		t.Fatalf("our parse of torchwood's verifier key %q: %v", vkey, err)
	}
	for name, signer := range map[string]note.Signer{"ours": ours, "torchwood": tw} {
		t.Run(name, func(t *testing.T) {
			wj, err := journal.Open(filepath.Join(t.TempDir(), "w"), &journal.Options{HoldLock: true})
			if err != nil {
				t.Fatal(err)
			}
			defer wj.Close()
			w, err := journal.NewWitnessServer(bg, wj, signer, []note.Verifier{v})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(w)
			defer srv.Close()
			if err := j.AddWitness(bg, "w-"+name, srv.URL, vkey); err != nil {
				t.Fatal(err)
			}
			defer j.RemoveWitness(bg, "w-"+name)
			appendRecords(t, j, 5)
			msg, err := j.CheckpointWith(bg, s, &journal.CheckpointOptions{Witnesses: &journal.WitnessOptions{}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := note.Open(msg, note.VerifierList(tw.Verifier())); err != nil {
				t.Fatalf("torchwood does not verify the cosignature: %v\n%s", err, msg)
			}
			ov, _ := journal.NewCosignatureVerifier(vkey)
			if _, err := journal.Verify(bg, dir, &journal.VerifyOptions{Verifier: v, Witnesses: []note.Verifier{ov}}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
