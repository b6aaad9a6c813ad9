package jsonenc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// The block cache of large maps (mapCache) against encoding/json: maps of
// random sizes cut into blocks of a few members, whose updates change,
// insert and delete members anywhere (at block edges too, and keys that
// sort into another block), one or several at a time, and a 40x40 map of
// maps whose inner maps keep caches of their own inside the outer one's
// blocks. Every document is compared with encoding/json's.

type mcEntry struct {
	Name string `json:"name"`
	Hits int    `json:"hits"`
}

type mcDoc struct {
	Title string             `json:"title"`
	M     map[string]mcEntry `json:"m"`
	Tail  int                `json:"tail"`
}

type mcNested struct {
	M map[string]map[string]mcEntry `json:"m"`
}

func mcKey(i int) string { return fmt.Sprintf("k%05d", i) }

func TestMapCacheBlocksDiff(t *testing.T) {
	for _, indent := range []string{"  ", ""} {
		for _, block := range []int{1, 7, 64, 300, 16 << 10} {
			for seed := range uint64(6) {
				r := rand.New(rand.NewPCG(seed, uint64(block)))
				h := newHarness[mcDoc](t, indent, 0)
				h.c.SetMapCache(1+int(seed%3), block)
				size := []int{1, 2, 31, 100, 257, 1000}[seed]
				if err := h.Update(func(d *mcDoc) error {
					d.Title, d.M = "t", map[string]mcEntry{}
					for i := range size {
						d.M[mcKey(2*i)] = mcEntry{Name: "n" + mcKey(i), Hits: i}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				for step := range 60 {
					if err := h.Update(func(d *mcDoc) error {
						for range 1 + r.IntN(4) {
							k := mcKey(r.IntN(2*size + 2)) // odd keys are new: they sort between old ones
							switch r.IntN(5) {
							case 0:
								delete(d.M, k)
							case 1:
								d.M[k] = mcEntry{Name: k + "x", Hits: r.IntN(1000000)} // longer or shorter
							default:
								if e, ok := d.M[k]; ok {
									e.Hits++
									d.M[k] = e
								}
							}
						}
						d.Tail++
						return nil
					}); err != nil {
						t.Fatal(err)
					}
					got, want := h.document(), oracle(t, &h.doc, indent)
					if !bytes.Equal(got, want) {
						t.Fatalf("indent %q block %d seed %d step %d: wrote\n%s\nwant\n%s", indent, block, seed, step, got, want)
					}
				}
			}
		}
	}
}

func TestMapCacheNestedDiff(t *testing.T) {
	for _, block := range []int{1, 50, 4 << 10, 16 << 10} {
		r := rand.New(rand.NewPCG(uint64(block), 40))
		h := newHarness[mcNested](t, "  ", 0)
		h.c.SetMapCache(32, block)
		if err := h.Update(func(d *mcNested) error {
			d.M = map[string]map[string]mcEntry{}
			for i := range 40 {
				in := map[string]mcEntry{}
				for j := range 40 {
					in[mcKey(j)] = mcEntry{Name: mcKey(i), Hits: j}
				}
				d.M[mcKey(i)] = in
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for step := range 200 {
			if err := h.Update(func(d *mcNested) error {
				o := mcKey(r.IntN(41))
				in, ok := d.M[o]
				switch {
				case !ok:
					d.M[o] = map[string]mcEntry{"new": {}}
				case r.IntN(10) == 0:
					delete(d.M, o)
				default:
					k := mcKey(r.IntN(42))
					if r.IntN(4) == 0 {
						delete(in, k)
					} else {
						e := in[k]
						e.Hits += 7
						in[k] = e
					}
				}
				return nil
			}); err != nil && err != errNoChange {
				t.Fatal(err)
			}
			got, want := h.document(), oracle(t, &h.doc, "  ")
			if !bytes.Equal(got, want) {
				t.Fatalf("block %d step %d: wrote\n%s\nwant\n%s", block, step, got, want)
			}
		}
	}
}
