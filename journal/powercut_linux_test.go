package journal

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/internal/testdir"
)

// TestPowerCut cuts the power under three appending processes: a
// loop-mounted ext4 or xfs is shut down without flushing its log and
// mounted again. Every record any process acknowledged must be there, and
// the log must verify after recovery.
func TestPowerCut(t *testing.T) {
	n := testdir.Rounds(30, 10, 4)
	skey, vkey, err := note.GenerateKey(crand.Reader, "powercut")
	if err != nil {
		t.Fatal(err)
	}
	verifier, _ := note.NewVerifier(vkey)
	crashtest.ForEachLoop(t, 128, func(t *testing.T, m *crashtest.Mount) {
		dir := filepath.Join(m.Dir, "audit")
		seed := uint64(time.Now().UnixNano())
		t.Logf("crash timing seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 2))
		acked := map[uint64]string{}
		start := time.Now()
		records := 0
		for round := range n {
			var kids []*appendChild
			for id := range 3 {
				kids = append(kids, startChild(t, dir, round*4+id, skey, 64<<10))
			}
			deadline := time.Now().Add(20 * time.Second)
			for kids[0].count() == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Duration(rng.Int64N(int64(150 * time.Millisecond))))
			// Only acks read before the cut surely predate it: a flush
			// that straddles the shutdown ioctl may report success while
			// the shutdown aborts its journal commit, which no real power
			// cut can do (crashtest makes the same distinction).
			before := map[uint64]string{}
			for _, c := range kids {
				c.mu.Lock()
				for i, p := range c.acks {
					before[i] = p
				}
				c.mu.Unlock()
			}
			cutErr := m.Shutdown()
			for _, c := range kids {
				c.kill()
			}
			if cutErr != nil {
				t.Fatal(cutErr)
			}
			if err := m.Remount(); err != nil {
				t.Fatal(err)
			}
			for i, p := range before {
				acked[i] = p
			}
			records = checkAcked(t, dir, acked, verifier)
		}
		t.Logf("%d power cuts on %s in %v: %d acknowledged records, %d in the log, all present",
			n, m.FSType, time.Since(start).Round(time.Millisecond), len(acked), records)
	})
}

// TestFullDisk fills a tiny tmpfs: appends fail with ENOSPC (when a new
// segment cannot be allocated) and change nothing; once space is freed,
// appends go on and the log verifies.
func TestFullDisk(t *testing.T) {
	mnt := testdir.TinyTmpfs(t, "512k")
	// A filler that takes room now and is removed later.
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, bytes.Repeat([]byte("f"), 192<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mnt, "audit")
	j, err := Open(dir, &Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { j.Close() }()
	var acked []string
	var full error
	for k := 0; k < 100000; k++ {
		p := string(payload(k))
		if _, err := j.Append(context.Background(), []byte(p)); err != nil {
			full = err
			break
		}
		acked = append(acked, p)
	}
	if !errors.Is(full, syscall.ENOSPC) {
		t.Fatalf("filling the disk: %v, want ENOSPC", full)
	}
	t.Logf("disk full after %d records: %v", len(acked), full)
	// It stays full: another append fails the same way, harming nothing.
	if _, err := j.Append(context.Background(), []byte("still full")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append on a full disk: %v", err)
	}
	checkList := func(want []string) {
		t.Helper()
		data, _, j2, err := readAll(nil, dir, &Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		j2.Close()
		if len(data) != len(want) {
			t.Fatalf("%d records in the log, %d acknowledged", len(data), len(want))
		}
		for i := range want {
			if data[i] != want[i] {
				t.Fatalf("record %d differs", i)
			}
		}
		if rep, err := Verify(context.Background(), dir, nil); err != nil || rep.Torn != nil {
			t.Fatalf("Verify: %v %+v", err, rep)
		}
	}
	checkList(acked)
	// Free space: the same handle goes on.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for k := range 100 {
		p := "after " + string(payload(k))
		if _, err := j.Append(context.Background(), []byte(p)); err != nil {
			t.Fatalf("append after freeing space: %v", err)
		}
		acked = append(acked, p)
	}
	checkList(acked)
}
