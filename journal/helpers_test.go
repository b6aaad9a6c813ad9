package journal

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/durable-go/durable/vfs"
)

var bg = context.Background()

// payload is the content of the k-th record a test appends: long enough
// that a torn one cannot pass for it, and distinct.
func payload(k int) []byte {
	return []byte(fmt.Sprintf("record-%05d|%s", k, strings.Repeat(string(rune('a'+k%26)), 90+k%70)))
}

// readAll opens dir (recovering it) and returns the data payloads in
// order, the notes, and the journal, or an error.
func readAll(fsys vfs.FS, dir string, opts *Options) (data []string, notes []Record, j *Journal, err error) {
	o := Options{FS: fsys, SegmentSize: 4096}
	if opts != nil {
		o = *opts
		o.FS = fsys
	}
	j, err = Open(dir, &o)
	if err != nil {
		return nil, nil, nil, err
	}
	next := uint64(0)
	for r, err := range j.Scan(0) {
		if err != nil {
			j.Close()
			return nil, nil, nil, err
		}
		if r.Index != next {
			j.Close()
			return nil, nil, nil, fmt.Errorf("record index %d, want %d", r.Index, next)
		}
		next++
		if r.Type == TypeData {
			data = append(data, string(r.Payload))
		} else {
			notes = append(notes, r)
		}
	}
	if next != j.Size() {
		j.Close()
		return nil, nil, nil, fmt.Errorf("scan saw %d records, the journal says %d", next, j.Size())
	}
	return data, notes, j, nil
}

func mustOpen(t testing.TB, dir string, o *Options) *Journal {
	t.Helper()
	j, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
