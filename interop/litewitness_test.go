package interop

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/journal"
)

// buildTools builds litewitness and witnessctl, torchwood's witness, from
// this module's tool directives.
func buildTools(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds litewitness (SQLite in Go): skipped with -short")
	}
	bin := t.TempDir()
	cmd := exec.Command("go", "build", "-o", bin+string(os.PathSeparator), "filippo.io/torchwood/cmd/litewitness", "filippo.io/torchwood/cmd/witnessctl")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building litewitness: %v\n%s", err, out)
	}
	return bin
}

// startLitewitness runs litewitness with a fresh Ed25519 key served by an
// in-process ssh-agent, knowing the log key v, and returns its URL and
// cosignature verifier key.
func startLitewitness(t *testing.T, bin string, v note.Verifier, vkey string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); agent.ServeAgent(keyring, c) }()
		}
	}()
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "litewitness.db")
	for _, args := range [][]string{
		{"add-log", "-db", db, "-origin", v.Name()},
		{"add-key", "-db", db, "-origin", v.Name(), "-key", vkey},
	} {
		if out, err := exec.Command(filepath.Join(bin, "witnessctl"), args...).CombinedOutput(); err != nil {
			t.Fatalf("witnessctl %v: %v\n%s", args, err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	const name = "witness.example/litewitness"
	cmd := exec.Command(filepath.Join(bin, "litewitness"), "-name", name, "-db", db, "-ssh-agent", sock,
		"-key", ssh.FingerprintSHA256(sshPub), "-listen", addr)
	logf, err := os.Create(filepath.Join(dir, "litewitness.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logf.Name())
			t.Logf("litewitness said:\n%s", out)
		}
	})
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 300 {
			t.Fatalf("litewitness does not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tw, err := torchwood.NewCosignatureSigner(name, priv)
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + addr, tw.Verifier().String()
}

// litewitness, a witness we did not write, cosigns our checkpoints, we
// verify its cosignatures, and it refuses to cosign a history rewritten
// and re-signed with the real key, which only verification with the
// witness then catches.
func TestLitewitnessCosigns(t *testing.T) {
	bin := buildTools(t)
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	url, wkey := startLitewitness(t, bin, v, vkey)
	wv, err := journal.NewCosignatureVerifier(wkey)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "log")
	j := newLog(t, dir, 0, s) // empty, signed before the witness knew it
	if err := j.AddWitness(bg, "lite", url, wkey); err != nil {
		t.Fatal(err)
	}
	opts := &journal.CheckpointOptions{Witnesses: &journal.WitnessOptions{Report: func(w string, err error) { t.Errorf("witness %s: %v", w, err) }}}
	for round := range 3 {
		appendRecords(t, j, 7+round)
		if _, err := j.CheckpointWith(bg, s, opts); err != nil {
			t.Fatal(err)
		}
		rep, err := journal.Verify(bg, dir, &journal.VerifyOptions{Verifier: v, Witnesses: []note.Verifier{wv}})
		if err != nil || len(rep.Cosigners) != 1 {
			t.Fatalf("round %d: verify with litewitness: %v %v", round, err, rep)
		}
	}
	ws, _ := journal.Witnesses(dir)
	if len(ws) != 1 || ws[0].Size != j.Size() {
		t.Fatalf("witness state %+v, want size %d", ws, j.Size())
	}

	// The attack: someone with the key rewrites the history (same
	// origin, the witness configuration copied) and re-signs.
	forged := filepath.Join(t.TempDir(), "forged")
	f, err := journal.Open(forged, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.SetOrigin(bg, origin); err != nil {
		t.Fatal(err)
	}
	for range 30 {
		if _, err := f.Append(bg, []byte("rewritten history")); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.AddWitness(bg, "lite", url, wkey); err != nil {
		t.Fatal(err)
	}
	var refused error
	_, err = f.CheckpointWith(bg, s, &journal.CheckpointOptions{Witnesses: &journal.WitnessOptions{Report: func(_ string, err error) { refused = err }}})
	if refused == nil || !errors.Is(err, journal.ErrTampered) {
		t.Fatalf("litewitness cosigned a rewritten history: %v %v", err, refused)
	}
	if _, err := journal.Verify(bg, forged, &journal.VerifyOptions{Verifier: v}); err != nil {
		t.Fatalf("the forgery should pass with the key alone (else this tests nothing): %v", err)
	}
	if _, err := journal.Verify(bg, forged, &journal.VerifyOptions{Verifier: v, Witnesses: []note.Verifier{wv}}); !errors.Is(err, journal.ErrTampered) {
		t.Fatalf("verify --witness of the rewritten history: %v", err)
	}
}
