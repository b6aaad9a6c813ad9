package jsonl_test

import (
	"encoding/json"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/vfs"
)

// memWith returns a crashable filesystem holding files, all durable.
func memWith(files map[string]string) *vfs.MemFS { return crashtest.MemWith(files, 0o600) }

// content returns the file's content, or "<absent>".
func content(t testing.TB, fsys vfs.FS, name string) string {
	t.Helper()
	return crashtest.Content(t, fsys, name)
}

// evidence returns the evidence files of the log at name, by name.
func evidence(t testing.TB, fsys vfs.FS, name string) map[string]string {
	t.Helper()
	ents, err := fsys.ReadDir(path.Dir(filepath.ToSlash(name)))
	if err != nil {
		t.Fatalf("readdir: %v", err)
	}
	out := map[string]string{}
	prefix := path.Base(filepath.ToSlash(name)) + jsonl.EvidenceInfix
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			// Keyed like the names Open reports, in the host's separators.
			p := filepath.FromSlash(path.Join(path.Dir(filepath.ToSlash(name)), e.Name()))
			out[p] = content(t, fsys, p)
		}
	}
	return out
}

// hasEvidence reports whether some evidence file holds exactly cut.
func hasEvidence(ev map[string]string, cut string) bool {
	for _, c := range ev {
		if c == cut {
			return true
		}
	}
	return false
}

// scanAll scans the file and returns its values and errors.
func scanAll(fsys vfs.FS, name string) (vals []string, errs []error) {
	for v, err := range jsonl.ScanFS(fsys, name) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		vals = append(vals, string(v))
	}
	return vals, errs
}

// rec is the record the tests append: an id to find it by, and padding so
// that a torn record cannot pass for a whole one.
type rec struct {
	ID  string `json:"id"`
	Pad string `json:"pad,omitempty"`
}

func line(id string, pad int) string {
	b, err := json.Marshal(rec{ID: id, Pad: strings.Repeat("p", pad)})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// ids returns how many times each id appears among the values.
func ids(t testing.TB, vals []string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, v := range vals {
		var r rec
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			t.Fatalf("value %q: %v", v, err)
		}
		n[r.ID]++
	}
	return n
}
