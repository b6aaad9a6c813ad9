package jsonenc

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	jt "github.com/durable-go/durable/internal/jsonenc/jsonenctest"
)

// The differential test of the encoder (package jsonenctest): updates
// chosen by the input change a document in place, some of them then fail
// or panic, and the codec is driven as the store drives it (SaveForUndo,
// the function, Sync, the undo on failure). After every step Append must
// write exactly what encoding/json writes for the value the last
// successful function left, and a failed one must leave the value exactly
// as it was (unexported fields included). The store runs the same inputs
// through Store.Update and its file (store/codec_diff_test.go).
//
// FuzzCodecDiff explores (go test -fuzz FuzzCodecDiff ./internal/jsonenc/); its
// corpus is in testdata/fuzz/FuzzCodecDiff. TestCodecDiffSeeded runs a
// fixed set of seeds in plain go test.

func FuzzCodecDiff(f *testing.F) { jt.Fuzz(f, diffDrivers) }

// TestCodecDiffSeeded is the fuzzer's CI run: at least 5,000 updates over
// every type, encoder choice and indentation.
func TestCodecDiffSeeded(t *testing.T) { jt.Seeded(t, diffDrivers) }

// TestCodecDiffSeededCopying runs the same seeds with the map iterator's
// peek turned off (mapiter.go), as on a Go release whose iterator layout
// failed the startup check: the copying comparison is the fallback, and
// must stay as right as the fast path it stands in for.
func TestCodecDiffSeededCopying(t *testing.T) {
	if !iterPeekOK {
		t.Skip("the peek is already off on this Go release: TestCodecDiffSeeded runs the copying path")
	}
	iterPeekOK = false
	defer func() { iterPeekOK = true }()
	jt.Seeded(t, diffDrivers)
}

// TestCodecDiffSeededNoTable runs the same seeds with the table copy
// turned off (maptable.go), as on a Go release whose map layout failed the
// startup check: every map is walked.
func TestCodecDiffSeededNoTable(t *testing.T) {
	defer setTablePeek(false)()
	jt.Seeded(t, diffDrivers)
}

// diffDrivers has a driver for each of jt.Roots, in order.
var diffDrivers = []jt.Driver{diffRun[jt.Doc], diffRun[jt.EmbDoc], diffRun[jt.Nest], diffRun[jt.MapOfMaps],
	diffRun[jt.MMDoc], diffRun[jt.ItemMap], diffRun[jt.Items], diffRun[jt.ExactDoc], diffRun[jt.ExactMap]}

func diffRun[T any](t *testing.T, in *jt.In, tree bool, indent string, max int) int {
	t.Helper()
	s := &codecSubject[T]{t: t, c: New(reflect.TypeFor[T](), indent)}
	if tree {
		s.c.SetTreeThreshold(0)
		if minMembers, block, ok := jt.MapCache(in); ok {
			s.c.SetMapCache(minMembers, block)
		}
	}
	s.v = reflect.ValueOf(&s.doc).Elem()
	var err error
	if s.tree, _, err = s.c.Sync(nil, s.v); err != nil {
		t.Fatal(err)
	}
	where := fmt.Sprintf("%T tree=%v indent=%q", s.doc, tree, indent)
	return jt.Drive(t, in, jt.Subject[T](s), jt.Run{Where: where, Indent: indent, Max: max, DeepCopy: cloneValue})
}

// codecSubject is a Codec driven as the store drives it.
type codecSubject[T any] struct {
	c    *Codec
	doc  T
	v    reflect.Value
	tree *Tree
	t    *testing.T
}

// Update is the store's update: save for the undo, run the function,
// sync, and undo if either failed (and then the value must be as it was).
func (s *codecSubject[T]) Update(fn func(*T) error) (changed bool, panicked any, err error) {
	before := jt.Fingerprint(s.v)
	undo := s.c.SaveForUndo(s.tree, s.v)
	func() {
		// A marshaler may panic in Sync too: the store undoes that
		// update as it undoes one whose function panicked.
		defer func() { panicked = recover() }()
		if err = fn(&s.doc); err != nil {
			return
		}
		var next *Tree
		next, changed, err = s.c.Sync(s.tree, s.v)
		if err == nil {
			s.tree = next
		}
	}()
	if err != nil || panicked != nil {
		if uerr := undo(); uerr != nil {
			s.t.Fatalf("undo: %v", uerr)
		}
		if got := jt.Fingerprint(s.v); got != before {
			s.t.Fatalf("after the undo the value is\n%s\nwant\n%s", got, before)
		}
	}
	return changed, panicked, err
}

// Check checks what the codec writes against encoding/json's bytes want.
func (s *codecSubject[T]) Check(t *testing.T, step string, want []byte, _ bool) {
	t.Helper()
	got, err := s.c.Append(nil, s.tree, nil, nil)
	if err != nil {
		t.Fatalf("%s: Append: %v", step, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: the codec writes\n%s\nencoding/json writes\n%s", step, got, want)
	}
	if _, err := s.c.Append([]byte("x"), s.tree, nil, nil); err != nil {
		t.Fatalf("%s: Append after other bytes: %v", step, err)
	}
}
