package journal

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// A segment replaced by a directory, a link or a FIFO is reported as what
// it is, by Open, Verify and readers alike, and nothing is changed.
func TestSegmentReplacedByAnotherKindOfFile(t *testing.T) {
	for _, c := range []struct {
		what  string
		plant func(m *vfs.MemFS, path string) error
	}{
		{"a directory", func(m *vfs.MemFS, p string) error { return m.Mkdir(p, 0o700) }},
		{"a symbolic link", func(m *vfs.MemFS, p string) error { return m.Symlink("elsewhere", p) }},
	} {
		for _, which := range []string{"first", "middle", "last"} {
			t.Run(c.what+" "+which, func(t *testing.T) {
				m, bases := segmentedJournal(t)
				b := map[string]uint64{"first": bases[0], "middle": bases[1], "last": bases[len(bases)-1]}[which]
				path := filepath.Join("/j", segName(b))
				m.Remove(path)
				if err := c.plant(m, path); err != nil {
					t.Fatal(err)
				}
				before := m.Dump()
				_, verr := Verify(bg, "/j", &VerifyOptions{FS: m})
				_, oerr := Open("/j", &Options{FS: m, SegmentSize: 4096})
				for _, err := range []error{verr, oerr} {
					if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), c.what+" where a segment file should be") || !strings.Contains(err.Error(), segName(b)) {
						t.Errorf("got %v, want it to say %s is where %s should be", err, c.what, segName(b))
					}
				}
				if m.Dump() != before {
					t.Error("the directory changed")
				}
			})
		}
	}
}
