//go:build unix

package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
)

// Root running any verb that replaces a user's file keeps it the user's:
// `write --mode` changes the mode only, and the store verbs change nothing
// but the content.
func TestRootVerbsKeepOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to own a file as someone else (CI runs as root)")
	}
	const uid, gid = 64102, 64200
	dir := testdir.New(t)
	cases := []struct {
		file, stdin string
		args        []string
		mode        fs.FileMode // the file's before; want it after, unless set
		want        fs.FileMode
	}{
		{"w.txt", "new", []string{"write", "--mode", "0640"}, 0o600, 0o640},
		{"w2.txt", "new", []string{"write"}, 0o660, 0o660},
		{"s.json", "", []string{"store", "set", "", "k", "1"}, 0o660, 0o660},
		{"i.json", "", []string{"store", "incr", "", "n"}, 0o640, 0o640},
	}
	for _, c := range cases {
		name := filepath.Join(dir, c.file)
		if err := os.WriteFile(name, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(name, uid, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(name, c.mode); err != nil {
			t.Fatal(err)
		}
		args := append([]string(nil), c.args...)
		if args[0] == "store" {
			args[2] = name
		} else {
			args = append(args, name)
		}
		if r := runCLI(t, strings.NewReader(c.stdin), args...); r.code != exitOK {
			t.Fatalf("%v: %v", args, r)
		}
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid || fi.Mode().Perm() != c.want {
			t.Errorf("%v: %d:%d %v, want %d:%d %v", c.args, st.Uid, st.Gid, fi.Mode().Perm(), uid, gid, c.want)
		}
	}
}
