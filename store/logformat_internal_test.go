package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
)

// encodeRecord writes its header by hand: it must be what encoding/json
// writes, for every kind of record.
func TestEncodeRecordIsJSON(t *testing.T) {
	h := snapshotHash([]byte("{}"))
	for _, hd := range []logHeader{
		{Op: opFold, Rev: h}, {Op: opFold}, {Op: opPatch, Base: h}, {Op: opPatch},
		{Op: opWhole, Base: h}, {Op: opWhole},
	} {
		body := []byte(`{"a":1}`)
		if hd.Op == opFold {
			body = nil
		}
		hd.Format = LogFormatVersion
		want, err := json.Marshal(hd)
		if err != nil {
			t.Fatal(err)
		}
		want = append(append(want, '\n'), body...)
		got := encodeRecord(logHeader{Op: hd.Op, Base: hd.Base, Rev: hd.Rev}, body)
		if !bytes.Equal(got, want) {
			t.Errorf("encodeRecord writes\n%s\nencoding/json\n%s", got, want)
		}
		if _, err := decodeRecord(1, got); err != nil {
			t.Errorf("%s: %v", got, err)
		}
	}
}

// logRev builds its input by hand: it must name the version as the
// format it replaces did, so that revisions stay comparable.
func TestLogRevFormat(t *testing.T) {
	s, err := Open[map[string]int](filepath.Join(testdir.New(t), "doc.json"), &Options[map[string]int]{Log: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Update(t.Context(), func(m *map[string]int) error {
		if *m == nil {
			*m = map[string]int{}
		}
		(*m)["a"]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	lm := s.log
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if lm.npend == 0 {
		t.Fatal("no patch pending")
	}
	id := lm.j.LogID()
	want := durable.RevOf(fmt.Appendf(nil, "durable store log\n%x\n%s\n%d\n", id, lm.gen, lm.last))
	if got := s.logRev(); got != want {
		t.Fatalf("logRev = %v, want %v", got, want)
	}
}
