package store_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"
)

// FuzzLogReplay feeds the patch-log decoder records it did not write: a
// snapshot and a journal of arbitrary payloads (separated by "\x1e" in the
// input). Open must either read a document or fail with a clear error
// (damage: ErrCorrupt; patches over another snapshot: ErrConflict),
// never panic, and change nothing on disk either way.
func FuzzLogReplay(f *testing.F) {
	base := `sha256:` + strings.Repeat("0", 64)
	for _, seed := range []string{
		"{\"format\":1,\"op\":\"fold\"}\n",
		"{\"format\":1,\"op\":\"fold\"}\n\x1e{\"format\":1,\"op\":\"patch\"}\n{\"title\":\"x\",\"entries\":{\"a\":{\"name\":\"n\",\"hits\":2,\"note\":null}}}",
		"{\"format\":1,\"op\":\"fold\"}\n\x1e{\"format\":1,\"op\":\"whole\"}\n{\"title\":\"w\"}",
		"{\"format\":1,\"op\":\"fold\"}\n\x1e{\"format\":1,\"op\":\"patch\"}\n{\"nope\":1}",
		"{\"format\":1,\"op\":\"fold\"}\n\x1e{\"format\":1,\"op\":\"patch\"}\n{\"entries\":{\"a\":{\"hits\":\"x\"}}}",
		"{\"format\":1,\"op\":\"fold\"}\n\x1e{\"format\":1,\"op\":\"patch\"}\n{\"tags\":[1]}",
		"{\"format\":2,\"op\":\"fold\"}\n",
		"{\"format\":1,\"op\":\"patch\",\"base\":\"" + base + "\"}\n{}",
		"{\"format\":1,\"op\":\"fold\",\"rev\":\"" + base + "\"}\n",
		"not a header",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 1<<12 {
			return
		}
		m := vfs.NewMem()
		if err := m.Mkdir("/d", 0o755); err != nil {
			t.Fatal(err)
		}
		j, err := journal.Open(store.LogName("/d/doc.json"), &journal.Options{FS: m})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range strings.Split(in, "\x1e") {
			if _, err := j.Append(context.Background(), []byte(p)); err != nil {
				t.Fatal(err)
			}
		}
		j.Close()
		before := dumpFS(t, m)
		s, err := store.Open("/d/doc.json", &store.Options[logDoc]{FS: m, Log: true})
		if err == nil {
			if _, _, err := s.Get(); err != nil {
				t.Fatalf("Open succeeded, Get fails: %v", err)
			}
			s.Close() // compacts: a change, checked no further
			return
		}
		if !errors.Is(err, store.ErrCorrupt) && !errors.Is(err, store.ErrConflict) {
			t.Fatalf("Open: %v: neither ErrCorrupt nor ErrConflict", err)
		}
		if err.Error() == "" || !strings.Contains(err.Error(), filepath.FromSlash("/d/doc.json")) {
			t.Fatalf("the error does not name the document: %v", err)
		}
		if after := dumpFS(t, m); after != before {
			t.Fatalf("a refused log changed the disk:\nbefore\n%s\nafter\n%s", before, after)
		}
	})
}

// dumpFS lists every file under / with its content.
func dumpFS(t *testing.T, fsys vfs.FS) string {
	var out []string
	var walk func(dir string)
	walk = func(dir string) {
		ents, err := fsys.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			p := path.Join(dir, e.Name())
			if e.IsDir() {
				walk(p)
				continue
			}
			data, err := vfs.ReadFile(fsys, p)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			out = append(out, p+" "+string(bytes.TrimRight(data, "\x00")))
		}
	}
	walk("/")
	sort.Strings(out)
	return strings.Join(out, "\n")
}
