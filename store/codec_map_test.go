package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// The store's maps, through the tree at every size: a map at the root,
// the undo of a map's change when a later member fails, and a large map's
// spliced encoding, each checked against encoding/json.

func TestCodecMapRoot(t *testing.T) {
	m := vfs.NewMem()
	s, err := Open("/m.json", &Options[map[string]propInner]{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	model := map[string]propInner{}
	rng := rand.New(rand.NewPCG(3, 3))
	for step := range 200 {
		k, a := fmt.Sprintf("k%02d", rng.IntN(30)), rng.IntN(4)
		del := rng.IntN(4) == 0
		apply := func(d map[string]propInner) {
			if del {
				delete(d, k)
			} else {
				d[k] = propInner{A: a, B: k}
			}
		}
		if _, err := s.Update(context.Background(), func(d *map[string]propInner) error {
			if *d == nil {
				*d = map[string]propInner{}
			}
			apply(*d)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		apply(model)
		got, _ := vfs.ReadFile(m, "/m.json")
		if want := oracle(t, &model, "  ", nil, nil); step > 0 && !bytes.Equal(got, want) {
			t.Fatalf("step %d: wrote\n%s\nwant\n%s", step, got, want)
		}
	}
}

// A change to a map is applied to the tree in place only once the whole
// document encoded: when a later member fails to encode, the update is
// refused and the map's change undone, in memory and on disk.
func TestCodecMapChangeUndoneWhenLaterMemberFails(t *testing.T) {
	type rec struct {
		N int    `json:"n"`
		S string `json:"s"`
	}
	type doc struct {
		M map[string]rec `json:"m"`
		F float64        `json:"f"`
	}
	m := vfs.NewMem()
	s, err := Open("/d.json", &Options[doc]{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	s.c.enc.SetTreeThreshold(0) // the tree at every size
	ctx := context.Background()
	if _, err := s.Update(ctx, func(d *doc) error {
		d.M = map[string]rec{}
		for i := range 100 {
			d.M[fmt.Sprint("k", i)] = rec{N: i, S: "x"}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := vfs.ReadFile(m, "/d.json")
	for range 3 {
		_, err := s.Update(ctx, func(d *doc) error {
			d.M["k7"] = rec{N: -1, S: "changed"}
			d.M["k8"] = rec{N: -2, S: "changed"}
			var z float64
			d.F = z / z // NaN does not encode
			return nil
		})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
	}
	if got, _ := vfs.ReadFile(m, "/d.json"); !bytes.Equal(got, before) {
		t.Fatalf("a refused update reached the disk")
	}
	if _, err := s.Update(ctx, func(d *doc) error {
		if d.M["k7"].N != 7 || d.M["k8"].N != 8 || d.F != 0 {
			t.Errorf("undone changes leaked: k7 %+v k8 %+v f %v", d.M["k7"], d.M["k8"], d.F)
		}
		d.M["k9"] = rec{N: 90, S: "y"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := vfs.ReadFile(m, "/d.json")
	want := bytes.Replace(before, []byte(`"k9": {
      "n": 9,
      "s": "x"`), []byte(`"k9": {
      "n": 90,
      "s": "y"`), 1)
	if bytes.Equal(want, before) || !bytes.Equal(got, want) {
		t.Fatalf("wrote\n%s\nwant\n%s", got, want)
	}
}

// A large map keeps its encoding and splices changed members into it: the
// bytes must stay exactly encoding/json's through changes of one member,
// of several, of a member's length, and through keys added and removed.
func TestCodecLargeMapSplice(t *testing.T) {
	type rec struct {
		N int               `json:"n"`
		S string            `json:"s,omitempty"`
		M map[string]string `json:"m,omitempty"`
	}
	type doc struct {
		A string         `json:"a"`
		M map[string]rec `json:"m"`
		Z int            `json:"z"`
	}
	for _, indent := range []string{"  ", ""} {
		m := vfs.NewMem()
		s, err := Open("/d.json", &Options[doc]{FS: m, Indent: indent, Compact: indent == "", Backups: -1})
		if err != nil {
			t.Fatal(err)
		}
		s.c.enc.SetTreeThreshold(0) // the tree at every size
		model := doc{M: map[string]rec{}}
		for i := range 200 {
			model.M[fmt.Sprint("k", i)] = rec{N: i}
		}
		rng := rand.New(rand.NewPCG(3, 4))
		for step := range 300 {
			op := func(d *doc) {
				if step == 0 {
					d.M = maps.Clone(model.M)
					return
				}
				r := rand.New(rand.NewPCG(uint64(step), 9))
				for range 1 + r.IntN(3) {
					k := fmt.Sprint("k", r.IntN(220))
					switch x := r.IntN(10); {
					case x == 0:
						delete(d.M, k)
					case x == 1:
						d.M[k] = rec{N: r.IntN(1000), M: map[string]string{"x": strings.Repeat("y", r.IntN(5))}}
					default:
						e := d.M[k]
						e.N += r.IntN(2000) - 1000
						e.S = strings.Repeat("s", r.IntN(3))
						d.M[k] = e
					}
				}
				d.Z = step
			}
			updateLikeModel(t, m, s, &model, indent, step, step > 0 && rng.IntN(6) == 0, op)
		}
	}
}

// updateLikeModel runs op in an Update of s, refused afterwards when fail,
// and on the model when it was not, then checks that the file is what
// encoding/json makes of the model (from step 1 on: step 0 sets it up).
func updateLikeModel[T any](t *testing.T, m *vfs.MemFS, s *Store[T], model *T, indent string, step int, fail bool, op func(*T)) {
	t.Helper()
	_, err := s.Update(context.Background(), func(d *T) error {
		op(d)
		if fail {
			return errors.New("refused")
		}
		return nil
	})
	if fail != (err != nil) {
		t.Fatalf("step %d: err = %v", step, err)
	}
	if !fail {
		op(model)
	}
	got, _ := vfs.ReadFile(m, "/d.json")
	if want := oracle(t, model, indent, nil, nil); step > 0 && !bytes.Equal(got, want) {
		t.Fatalf("indent %q step %d: wrote\n%s\nwant\n%s", indent, step, got, want)
	}
}

// A document large enough that its Rev is computed while the file is
// written (asyncRev): every Update returns the Rev of what it wrote, with
// and without backups (whose directory fsync the rename also waits for).
func TestLargeDocumentRev(t *testing.T) {
	for _, backups := range []int{-1, 1} {
		path := filepath.Join(testdir.New(t), "doc.json")
		s, err := Open(path, &Options[map[string]string]{Backups: backups})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 6 {
			rev, err := s.Update(context.Background(), func(d *map[string]string) error {
				if *d == nil {
					*d = map[string]string{}
				}
				for j := range 2000 {
					if j%(i+1) == 0 || i == 0 {
						(*d)[fmt.Sprintf("k%05d", j)] = strings.Repeat("v", 150) + fmt.Sprint(i)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) < asyncRev {
				t.Fatalf("the document is %d bytes: too small to test asyncRev", len(data))
			}
			if want := durable.RevOf(data); rev != want {
				t.Fatalf("backups %d, update %d: Update returned %v, the file is at %v", backups, i, rev, want)
			}
			if _, grev, err := s.Get(); err != nil || grev != rev {
				t.Fatalf("Get: %v, %v; want %v", grev, err, rev)
			}
		}
	}
}
