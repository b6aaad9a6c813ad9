package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/journal"
)

// runLogCLI runs "durable log ARGS" through the verb, as main would once the
// verb is in the table.
func runLogCLI(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	return runVerb(t, logVerb(), stdin, args...)
}

func TestLogVerb(t *testing.T) {
	tmp := testdir.New(t)
	dir := filepath.Join(tmp, "audit")
	key := filepath.Join(tmp, "audit-key")

	r := runLogCLI(t, nil, "keygen", key)
	if r.code != exitOK {
		t.Fatalf("keygen: %v", r)
	}
	if fi, err := os.Stat(key + ".key"); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v", fi, err)
	}
	if r := runLogCLI(t, nil, "keygen", key); r.code != exitExists {
		t.Fatalf("keygen over an existing key: %v", r)
	}

	r = runLogCLI(t, nil, "append", dir, "first", "second")
	if r.code != exitOK || r.stdout != "0\n1\n" {
		t.Fatalf("append args: %v", r)
	}
	r = runLogCLI(t, strings.NewReader("third\nfourth\nfifth"), "append", "--key", key+".key", dir)
	if r.code != exitOK || r.stdout != "2\n3\n4\n" {
		t.Fatalf("append stdin: %v", r)
	}
	r = runLogCLI(t, nil, "cat", dir)
	if r.code != exitOK || r.stdout != "first\nsecond\nthird\nfourth\nfifth\n" {
		t.Fatalf("cat: %v", r)
	}
	r = runLogCLI(t, nil, "cat", "--from", "3", "--json", dir)
	var rec struct {
		Index   uint64
		Type    string
		Payload string
	}
	if r.code != exitOK || json.Unmarshal([]byte(strings.Split(r.stdout, "\n")[0]), &rec) != nil || rec.Index != 3 || rec.Payload != "fourth" || rec.Type != "data" {
		t.Fatalf("cat --json: %v", r)
	}
	r = runLogCLI(t, nil, "tail", "-n", "2", dir)
	if r.code != exitOK || r.stdout != "fourth\nfifth\n" {
		t.Fatalf("tail: %v", r)
	}
	r = runLogCLI(t, nil, "verify", "--pub", key+".pub", dir)
	if r.code != exitOK || !strings.Contains(r.stdout, "ok: 5 records") || !strings.Contains(r.stdout, "checkpoint: 5 records, signed by audit-key") {
		t.Fatalf("verify: %v", r)
	}
	r = runLogCLI(t, nil, "proof", dir, "3")
	if r.code != exitOK || !strings.Contains(r.stdout, "record 3: fourth") || !strings.Contains(r.stdout, "the stored checkpoint") {
		t.Fatalf("proof: %v", r)
	}
	cp, _ := os.ReadFile(filepath.Join(dir, "checkpoint"))
	remembered := filepath.Join(tmp, "remembered")
	os.WriteFile(remembered, cp, 0o600)
	r = runLogCLI(t, nil, "checkpoint", "--key", key+".key", dir)
	if r.code != exitOK || !strings.Contains(r.stdout, "\n5\n") {
		t.Fatalf("checkpoint: %v", r)
	}

	// tail -f prints what another writer appends.
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int)
	go func() {
		c := &cli{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard, verb: logVerb()}
		done <- logVerb().run(c, []string{"tail", "-f", "-n", "1", dir})
	}()
	runLogCLI(t, nil, "append", dir, "sixth")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "sixth") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK || out.String() != "fifth\nsixth\n" {
		t.Fatalf("tail -f: exit %d, %q", code, out.String())
	}

	// Corruption: a flipped byte in a record is exit 8, and says where.
	seg := filepath.Join(dir, "00000000000000000000.seg")
	good, _ := os.ReadFile(seg)
	bad := bytes.Clone(good)
	i := bytes.Index(bad, []byte("second"))
	bad[i] ^= 0x20
	os.WriteFile(seg, bad, 0o600)
	r = runLogCLI(t, nil, "verify", "--pub", key+".pub", dir)
	if r.code != exitCorrupt || !strings.Contains(r.stderr, seg) || !strings.Contains(r.stderr, "offset") {
		t.Fatalf("verify a corrupt log: %v", r)
	}
	os.WriteFile(seg, good, 0o600)

	// Tampering: the stored checkpoint rolled back is exit 9 with the
	// remembered newer one; a checkpoint from another key is exit 9.
	newer, _ := os.ReadFile(filepath.Join(dir, "checkpoint"))
	os.WriteFile(remembered, newer, 0o600)
	os.WriteFile(filepath.Join(dir, "checkpoint"), cp, 0o644)
	runLogCLI(t, nil, "append", dir, "seventh")
	r = runLogCLI(t, nil, "verify", "--pub", key+".pub", "--remembered", remembered, dir)
	if r.code != exitOK {
		t.Fatalf("an older stored checkpoint with a consistent log: %v", r)
	}
	runLogCLI(t, nil, "keygen", filepath.Join(tmp, "other"))
	r = runLogCLI(t, nil, "verify", "--pub", filepath.Join(tmp, "other.pub"), "--json", dir)
	var js struct {
		OK   bool
		Code int
	}
	if r.code != exitTampered || json.Unmarshal([]byte(r.stdout), &js) != nil || js.OK || js.Code != exitTampered {
		t.Fatalf("verify with another key: %v", r)
	}
	// proof --pub checks the checkpoint's signature.
	r = runLogCLI(t, nil, "proof", "--pub", key+".pub", dir, "2")
	if r.code != exitOK || !strings.Contains(r.stdout, "signed by audit-key") {
		t.Fatalf("proof --pub: %v", r)
	}
	if r = runLogCLI(t, nil, "proof", "--pub", filepath.Join(tmp, "other.pub"), dir, "2"); r.code != exitTampered {
		t.Fatalf("proof --pub with another key: %v", r)
	}
	if r = runLogCLI(t, nil, "proof", "--pub", key+".pub", dir, "6"); r.code != exitFailure || !strings.Contains(r.stderr, "not covered") {
		t.Fatalf("proof --pub of a record after the checkpoint: %v", r)
	}
	if r = runLogCLI(t, nil, "proof", dir, "2"); r.code != exitOK || !strings.Contains(r.stdout, "NOT checked") {
		t.Fatalf("proof without --pub: %v", r)
	}
	// An empty remembered checkpoint is a usage error, not tampering.
	empty := filepath.Join(tmp, "empty")
	os.WriteFile(empty, nil, 0o600)
	if r = runLogCLI(t, nil, "verify", "--pub", key+".pub", "--remembered", empty, dir); r.code != exitUsage || !strings.Contains(r.stderr, "empty") {
		t.Fatalf("verify with an empty remembered file: %v", r)
	}
	os.Remove(filepath.Join(dir, "checkpoint"))
	r = runLogCLI(t, nil, "verify", "--pub", key+".pub", "--remembered", remembered, dir)
	if r.code != exitTampered || !strings.Contains(r.stderr, "missing") {
		t.Fatalf("verify with the checkpoint deleted: %v", r)
	}
	// With the key alone, a deleted checkpoint is tampering too, and the
	// error counts what nothing vouches for; without the key it is a
	// warning that counts them.
	r = runLogCLI(t, nil, "verify", "--pub", key+".pub", dir)
	if r.code != exitTampered || !strings.Contains(r.stderr, "7 records are covered by no signed checkpoint") {
		t.Fatalf("verify --pub with the checkpoint deleted: %v", r)
	}
	r = runLogCLI(t, nil, "verify", dir)
	if r.code != exitOK || !strings.Contains(r.stdout, "not covered by any checkpoint: 7 records") {
		t.Fatalf("verify without a key, the checkpoint deleted: %v", r)
	}
	if r = runLogCLI(t, nil, "proof", "--pub", key+".pub", dir, "2"); r.code != exitTampered {
		t.Fatalf("proof --pub with the checkpoint deleted: %v", r)
	}
}

func TestLogVerbUsage(t *testing.T) {
	if r := runLogCLI(t, nil); r.code != exitUsage {
		t.Errorf("no subcommand: %v", r)
	}
	if r := runLogCLI(t, nil, "frobnicate"); r.code != exitUsage || !strings.Contains(r.stderr, "unknown subcommand") {
		t.Errorf("unknown subcommand: %v", r)
	}
	if r := runLogCLI(t, nil, "--help"); r.code != exitOK || !strings.Contains(r.stdout, "usage: durable log") || !strings.Contains(r.stdout, "Example:\n  $ durable log") {
		t.Errorf("log --help: %v", r)
	}
	if r := runLogCLI(t, nil, "--no-such-flag"); r.code != exitUsage || !strings.Contains(r.stderr, "usage: durable log") || r.stdout != "" {
		t.Errorf("log --no-such-flag: %v", r)
	}
	for name := range logSubs() {
		r := runLogCLI(t, nil, name, "--help")
		if r.code != exitOK || !strings.Contains(r.stdout, "usage: durable log "+name) || !strings.Contains(r.stdout, "durable log "+name+" ") {
			t.Errorf("log %s --help: %v", name, r)
		}
		if r := runLogCLI(t, nil, name, "--no-such-flag"); r.code != exitUsage {
			t.Errorf("log %s --no-such-flag: %v", name, r)
		}
	}
	if r := runLogCLI(t, nil, "verify", filepath.Join(testdir.New(t), "missing")); r.code == exitOK {
		t.Errorf("verify of a missing directory: %v", r)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A first record larger than a segment is appended, and the log opens and
// verifies again.
func TestLogFirstRecordLargerThanASegment(t *testing.T) {
	dir := filepath.Join(testdir.New(t), "audit")
	big := strings.Repeat("y", journal.DefaultSegmentSize+1000)
	if r := runLogCLI(t, strings.NewReader(big+"\n"), "append", dir); r.code != exitOK || r.stdout != "0\n" {
		t.Fatalf("append of %d bytes: exit %d, %s", len(big), r.code, r.stderr)
	}
	if r := runLogCLI(t, nil, "append", dir, "small"); r.code != exitOK || r.stdout != "1\n" {
		t.Fatalf("append after it: %v", r.stderr)
	}
	if r := runLogCLI(t, nil, "verify", dir); r.code != exitOK || !strings.Contains(r.stdout, "ok: 2 records") {
		t.Fatalf("verify: %v %s", r.stdout, r.stderr)
	}
}
