package journal

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/internal/testdir"
)

type testWitness struct {
	url  string
	vkey string
	v    note.Verifier
	ws   *WitnessServer
	srv  *httptest.Server
}

func newTestWitness(t *testing.T, name string, logs ...note.Verifier) *testWitness {
	t.Helper()
	skey, vkey, err := GenerateWitnessKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewCosignatureSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewCosignatureVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	j := mustOpen(t, testdir.New(t), &Options{HoldLock: true})
	t.Cleanup(func() { j.Close() })
	ws, err := NewWitnessServer(bg, j, s, logs)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws)
	t.Cleanup(srv.Close)
	return &testWitness{url: srv.URL, vkey: vkey, v: v, ws: ws, srv: srv}
}

// witnessedLog is a log with origin example.com/log and its key.
func witnessedLog(t *testing.T, dir string) (*Journal, note.Signer, note.Verifier) {
	t.Helper()
	s, v := testKey(t, "example.com/log")
	j := mustOpen(t, dir, nil)
	if err := j.SetOrigin(bg, "example.com/log"); err != nil {
		t.Fatal(err)
	}
	return j, s, v
}

type reports struct {
	mu   sync.Mutex
	errs map[string]error
}

func (r *reports) opts() *CheckpointOptions {
	r.errs = map[string]error{}
	return &CheckpointOptions{Witnesses: &WitnessOptions{Timeout: 500 * time.Millisecond, Report: func(w string, err error) {
		r.mu.Lock()
		r.errs[w] = err
		r.mu.Unlock()
	}}}
}

func TestWitnessCosigns(t *testing.T) {
	dir := testdir.New(t)
	j, s, v := witnessedLog(t, dir)
	defer j.Close()
	w1, w2 := newTestWitness(t, "w1.example", v), newTestWitness(t, "w2.example", v)
	// A witness that hangs: it delays nothing but its own cosignature.
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer hang.Close()
	defer close(stop)
	_, hv, _ := GenerateWitnessKey(rand.Reader, "hang.example")
	for _, w := range []struct{ name, url, key string }{{"w1", w1.url, w1.vkey}, {"w2", w2.url, w2.vkey}, {"hang", hang.URL, hv}} {
		if err := j.AddWitness(bg, w.name, w.url, w.key); err != nil {
			t.Fatal(err)
		}
	}
	var r reports
	for round := range 3 {
		appendN(t, j, round*10, 10)
		start := time.Now()
		msg, err := j.CheckpointWith(bg, s, r.opts())
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("checkpoint took %v with a hanging witness", d)
		}
		if r.errs["hang"] == nil || len(r.errs) != 1 {
			t.Errorf("round %d: reports %v, want only the hanging witness", round, r.errs)
		}
		stored, _ := os.ReadFile(filepath.Join(dir, checkpointName))
		if string(stored) != string(msg) {
			t.Fatalf("the stored checkpoint is not the cosigned one")
		}
		rep, err := Verify(bg, dir, &VerifyOptions{Verifier: v, Witnesses: []note.Verifier{w1.v, w2.v}})
		if err != nil || len(rep.Cosigners) != 2 {
			t.Fatalf("round %d: verify with both witnesses: %v %v", round, err, rep.Cosigners)
		}
		ws, _ := Witnesses(dir)
		for _, w := range ws {
			want := j.Size()
			if w.Name == "hang" {
				want = 0
			}
			if w.Size != want {
				t.Errorf("round %d: witness %s at size %d, want %d", round, w.Name, w.Size, want)
			}
		}
	}
	_, err := Verify(bg, dir, &VerifyOptions{Verifier: v, Witnesses: []note.Verifier{w1.v, w2.v, mustVerifier(t, hv)}})
	wantTampered(t, err, "verify requiring the hanging witness too")
	if _, err := Verify(bg, dir, &VerifyOptions{Verifier: v, Witnesses: []note.Verifier{w1.v, w2.v, mustVerifier(t, hv)}, Quorum: 2}); err != nil {
		t.Fatalf("quorum 2 of 3: %v", err)
	}

	// Our record of a witness's size is lost: the 409 names the
	// witness's size and the log proves consistency from there.
	ws, _ := Witnesses(dir)
	for i := range ws {
		ws[i].Size = 0
	}
	if err := os.WriteFile(filepath.Join(dir, witnessesName), marshalWitnesses(ws), 0o644); err != nil {
		t.Fatal(err)
	}
	appendN(t, j, 100, 3)
	if _, err := j.CheckpointWith(bg, s, r.opts()); err != nil || r.errs["w1"] != nil || r.errs["w2"] != nil {
		t.Fatalf("after a 409: %v %v", err, r.errs)
	}
}

func mustVerifier(t *testing.T, vkey string) note.Verifier {
	v, err := NewCosignatureVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestWitnessRefusals(t *testing.T) {
	dir := testdir.New(t)
	j, s, v := witnessedLog(t, dir)
	defer j.Close()
	_, other := testKey(t, "example.com/log")      // same origin, another key
	_, stranger := testKey(t, "example.com/other") // another origin
	forbidden := newTestWitness(t, "w403.example", other)
	unknown := newTestWitness(t, "w404.example", stranger)
	for name, w := range map[string]*testWitness{"forbidden": forbidden, "unknown": unknown} {
		if err := j.AddWitness(bg, name, w.url, w.vkey); err != nil {
			t.Fatal(err)
		}
	}
	appendN(t, j, 0, 3)
	var r reports
	if _, err := j.CheckpointWith(bg, s, r.opts()); err != nil {
		t.Fatal(err)
	}
	for name, code := range map[string]string{"forbidden": "HTTP 403", "unknown": "HTTP 404"} {
		if err := r.errs[name]; err == nil || !errors.Is(err, ErrWitness) || !contains(err.Error(), code) {
			t.Errorf("%s: %v, want %s", name, err, code)
		}
	}
	_ = v
	if err := j.AddWitness(bg, "bad", "ftp://x", forbidden.vkey); err == nil {
		t.Error("a non-HTTP witness URL is accepted")
	}
	if err := j.AddWitness(bg, "bad", "http://x", "nonsense"); err == nil {
		t.Error("a malformed witness key is accepted")
	}
}

func contains(s, sub string) bool {
	return len(s) >= len(sub) && (s == sub || len(sub) == 0 || indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
