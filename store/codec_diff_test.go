package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/durable-go/durable/internal/jsonenc"
	jt "github.com/durable-go/durable/internal/jsonenc/jsonenctest"
	"github.com/durable-go/durable/vfs"
)

// The differential test of the encoder through the store (package
// jsonenctest): updates chosen by the input change a document in place,
// some of them then fail or panic. After every step the file must be
// exactly what encoding/json writes for the value the last successful
// function left, a failed one must leave the value exactly as it was
// (unexported fields included), and a fresh Open+Get must read what the
// file says. internal/jsonenc runs the same inputs on a Codec directly.
//
// FuzzCodecDiff explores (go test -fuzz FuzzCodecDiff ./store/); its
// corpus is in testdata/fuzz/FuzzCodecDiff. TestCodecDiffSeeded runs a
// fixed set of seeds in plain go test.

func FuzzCodecDiff(f *testing.F) { jt.Fuzz(f, diffDrivers) }

// TestCodecDiffSeeded is the fuzzer's CI run: at least 5,000 updates over
// every type, encoder choice and indentation.
func TestCodecDiffSeeded(t *testing.T) { jt.Seeded(t, diffDrivers) }

// diffDrivers has a driver for each of jt.Roots, in order.
var diffDrivers = []jt.Driver{diffRun[jt.Doc], diffRun[jt.EmbDoc], diffRun[jt.Nest], diffRun[jt.MapOfMaps],
	diffRun[jt.MMDoc], diffRun[jt.ItemMap], diffRun[jt.Items], diffRun[jt.ExactDoc], diffRun[jt.ExactMap]}

func diffRun[T any](t *testing.T, in *jt.In, tree bool, indent string, max int) int {
	t.Helper()
	m := vfs.NewMem()
	opts := &Options[T]{FS: m, Backups: 1, Indent: indent, Compact: indent == ""}
	s, err := Open("/doc.json", opts)
	if err != nil {
		t.Fatal(err)
	}
	if tree {
		s.c.enc.SetTreeThreshold(0)
		if minMembers, block, ok := jt.MapCache(in); ok {
			s.c.enc.SetMapCache(minMembers, block)
		}
	}
	var zero T
	where := fmt.Sprintf("%T tree=%v indent=%q", zero, tree, indent)
	return jt.Drive(t, in, jt.Subject[T](&storeSubject[T]{m: m, s: s}), jt.Run{Where: where, Indent: indent, Max: max, DeepCopy: jsonenc.DeepCopy})
}

// storeSubject is a Store driven through Update, checked through its file.
type storeSubject[T any] struct {
	m *vfs.MemFS
	s *Store[T]
}

func (s *storeSubject[T]) Update(fn func(*T) error) (changed bool, panicked any, err error) {
	func() {
		defer func() { panicked = recover() }()
		_, err = s.s.Update(context.Background(), fn)
	}()
	if errors.Is(err, ErrNoChange) {
		return false, panicked, nil
	}
	return true, panicked, err
}

// Check checks the file: it exists once an update changed the document (a
// change that encodes alike, a nil map made empty, may write the same
// document: then it must be that one).
func (s *storeSubject[T]) Check(t *testing.T, step string, want []byte, wrote bool) {
	t.Helper()
	if _, err := s.m.Stat("/doc.json"); err == nil {
		wrote = true
	}
	checkDiffFile(t, s.m, s.s, step, wrote, want)
}

// checkDiffFile checks the file against encoding/json's bytes want, and
// that Get and a fresh Open+Get read the value those bytes decode to.
func checkDiffFile[T any](t *testing.T, m *vfs.MemFS, s *Store[T], step string, exists bool, want []byte) {
	t.Helper()
	got, err := vfs.ReadFile(m, "/doc.json")
	if !exists {
		if err == nil {
			t.Fatalf("%s: the file exists, but no update changed the value:\n%s", step, got)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: the file is\n%s\nencoding/json writes\n%s", step, got, want)
	}
	var decoded T
	if err := json.Unmarshal(want, &decoded); err != nil {
		t.Fatalf("%s: encoding/json cannot read its own output: %v", step, err)
	}
	v, _, err := s.Get()
	if err != nil {
		t.Fatalf("%s: Get: %v", step, err)
	}
	if !reflect.DeepEqual(v, decoded) {
		t.Fatalf("%s: Get returns\n%+v\nwant\n%+v", step, v, decoded)
	}
	fresh, err := Open("/doc.json", &Options[T]{FS: m})
	if err != nil {
		t.Fatalf("%s: a fresh Open: %v", step, err)
	}
	fv, _, err := fresh.Get()
	if err != nil || !reflect.DeepEqual(fv, decoded) {
		t.Fatalf("%s: a fresh Get returns %+v, %v; want %+v", step, fv, err, decoded)
	}
}
