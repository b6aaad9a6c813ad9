package fsck

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/journal"
)

// FuzzCheck: whatever the files hold, Check reports findings and never
// panics, with and without Fix.
func FuzzCheck(f *testing.F) {
	f.Add([]byte(`{"a":1}`), uint8(0))
	f.Add([]byte("{\"a\":1}\n{\"b\""), uint8(1))
	f.Add([]byte("\x00\x00"), uint8(2))
	f.Add([]byte(`{"access_token":"x"}`), uint8(3))
	var seg []byte
	{
		dir := testdir.New(f)
		j, err := journal.Open(dir, &journal.Options{SegmentSize: segSize})
		if err != nil {
			f.Fatal(err)
		}
		j.Append(context.Background(), []byte("\x01\x01job"))
		j.Close()
		seg, _ = os.ReadFile(filepath.Join(dir, "00000000000000000000.seg"))
		f.Add(seg, uint8(4))
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		root := testdir.New(t)
		p := func(parts ...string) string { return filepath.Join(append([]string{root}, parts...)...) }
		os.WriteFile(p("d.json"), data, 0o644)
		os.WriteFile(p("d.json.bak.1"), data, 0o600)
		os.WriteFile(p("l.jsonl"), data, 0o644)
		os.Mkdir(p("j"), 0o755)
		s := seg
		if mode%2 == 1 && len(data) > 0 && len(s) > 0 {
			// Splice the data into a valid segment, past its header.
			s = bytes.Clone(seg)
			copy(s[int(mode)%len(s):], data)
		} else if mode%2 == 0 {
			s = data
		}
		os.WriteFile(p("j", "00000000000000000000.seg"), s, 0o644)
		for _, fix := range []bool{false, true} {
			rep, err := Check(context.Background(), []string{root}, &Options{Fix: fix, Now: later})
			if err != nil {
				t.Fatal(err)
			}
			for _, fd := range rep.Findings {
				if fd.Path == "" || fd.Kind == "" || fd.Detail == "" || fd.Action == "" {
					t.Fatalf("incomplete finding %+v", fd)
				}
			}
		}
		var x any
		_ = json.Unmarshal(data, &x)
	})
}
