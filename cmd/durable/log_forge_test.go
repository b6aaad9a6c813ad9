package main

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/journal"
)

// forgeLog replaces the log in dir, keeping its checkpoint and origin,
// with one of the same log id that starts after the checkpoint: issue 19's
// forged-retention attack, by someone who can write the directory but has
// no key. Headers are patched and their checksums recomputed as
// FORMAT.md describes.
func forgeLog(t *testing.T, dir string) {
	t.Helper()
	real, err := journal.Open(dir, &journal.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	id := real.LogID()
	real.Close()
	forged := filepath.Join(testdir.New(t), "forged")
	f, err := journal.Open(forged, &journal.Options{SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	for range 80 {
		if _, err := f.Append(context.Background(), []byte(strings.Repeat("forged record ", 12))); err != nil {
			t.Fatal(err)
		}
	}
	if first, err := f.DropBefore(context.Background(), 60); err != nil || first == 0 {
		t.Fatalf("drop: %d %v", first, err)
	}
	f.Close()
	ents, _ := os.ReadDir(forged)
	table := crc32.MakeTable(crc32.Castagnoli)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".seg") {
			continue
		}
		p := filepath.Join(forged, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		copy(data[16:32], id[:])
		end := 72 + 32*int(binary.LittleEndian.Uint32(data[64:]))
		c := crc32.Checksum(data[:end], table)
		binary.LittleEndian.PutUint32(data[end:], (c>>15|c<<17)+0xa282ead8)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := os.ReadDir(dir)
	for _, e := range old {
		if e.Name() != "checkpoint" && e.Name() != "origin" {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".seg") {
			data, _ := os.ReadFile(filepath.Join(forged, e.Name()))
			if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// auditLogKey makes, in tmp, a signing key for the origin
// example.com/audit and returns the directory of the log it signs (not
// made yet) and the key's name: key.key, key.pub.
func auditLogKey(t *testing.T, tmp string) (dir, key string) {
	t.Helper()
	dir = filepath.Join(tmp, "audit")
	key = filepath.Join(tmp, "audit")
	if r := runLogCLI(t, nil, "keygen", "--origin", "example.com/audit", key); r.code != exitOK {
		t.Fatalf("keygen: %v", r)
	}
	return dir, key
}

func TestLogForgedRetentionIsTampered(t *testing.T) {
	tmp := testdir.New(t)
	dir, key := auditLogKey(t, tmp)
	if r := runLogCLI(t, nil, "append", "--key", key+".key", dir, "a", "b", "c", "d"); r.code != exitOK {
		t.Fatalf("append: %v", r)
	}
	cp, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil || !strings.HasPrefix(string(cp), "example.com/audit\n4\n") {
		t.Fatalf("checkpoint %q (%v): want origin example.com/audit and 4 records", cp, err)
	}
	remembered := filepath.Join(tmp, "remembered")
	os.WriteFile(remembered, cp, 0o644)
	if r := runLogCLI(t, nil, "verify", "--pub", key+".pub", "--remembered", remembered, dir); r.code != exitOK {
		t.Fatalf("verify of the genuine log: %v", r)
	}

	forgeLog(t, dir)
	r := runLogCLI(t, nil, "verify", "--pub", key+".pub", "--remembered", remembered, dir)
	if r.code != exitTampered {
		t.Fatalf("verify --pub --remembered of the forged log: %v, want exit %d", r, exitTampered)
	}
	r = runLogCLI(t, nil, "checkpoint", "--key", key+".key", dir)
	if r.code != exitTampered {
		t.Fatalf("checkpoint of the forged log: %v, want exit %d", r, exitTampered)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "checkpoint")); string(now) != string(cp) {
		t.Fatalf("the refused checkpoint replaced the stored one")
	}
	// Appending with the key signs nothing either.
	r = runLogCLI(t, nil, "append", "--key", key+".key", dir, "more")
	if r.code != exitTampered {
		t.Fatalf("append --key to the forged log: %v, want exit %d", r, exitTampered)
	}
}
