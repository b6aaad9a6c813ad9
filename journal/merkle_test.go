package journal

import (
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/durable-go/durable/vfs"
)

// tlogTree keeps golang.org/x/mod/sumdb/tlog's stored hashes for a list of
// leaves, the independent implementation the journal is checked against.
type tlogTree struct{ stored map[int64]tlog.Hash }

func (t *tlogTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = t.stored[x]
	}
	return out, nil
}

func newTlogTree(t *testing.T, recs []Record) *tlogTree {
	tt := &tlogTree{stored: map[int64]tlog.Hash{}}
	for i, r := range recs {
		hs, err := tlog.StoredHashes(int64(i), r.LeafData(), tt)
		if err != nil {
			t.Fatal(err)
		}
		base := tlog.StoredHashIndex(0, int64(i))
		for k, h := range hs {
			tt.stored[base+int64(k)] = h
		}
	}
	return tt
}

func records(t *testing.T, j *Journal) []Record {
	var out []Record
	for r, err := range j.Scan(0) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// The roots, inclusion proofs and consistency proofs agree with tlog's, at
// every size, across segments, and after old segments are dropped.
func TestMerkleAgreesWithTlog(t *testing.T) {
	m := vfs.NewMem()
	j := mustOpen(t, "/j", &Options{FS: m, SegmentSize: 4096})
	defer j.Close()
	const n = 70
	for k := range n {
		if _, err := j.Append(bg, payload(k)); err != nil {
			t.Fatal(err)
		}
	}
	recs := records(t, j)
	tt := newTlogTree(t, recs)
	for k, r := range recs {
		if tlog.RecordHash(r.LeafData()) != tlog.Hash(r.LeafHash()) {
			t.Fatalf("leaf %d hash differs from tlog's", k)
		}
	}
	_, head, err := j.Head(bg)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := tlog.TreeHash(n, tt); tlog.Hash(head) != want {
		t.Fatalf("root %v, tlog says %v", head, want)
	}
	for size := uint64(1); size <= n; size++ {
		root, err := j.RootAt(bg, size)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := tlog.TreeHash(int64(size), tt)
		if tlog.Hash(root) != want {
			t.Fatalf("root at %d differs from tlog's", size)
		}
		for _, i := range []uint64{0, size / 3, size / 2, size - 1} {
			p, err := j.InclusionProof(bg, i, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyInclusion(recs[i].LeafHash(), i, size, p, root); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", i, size, err)
			}
			if err := tlog.CheckRecord(toTlog(p), int64(size), want, int64(i), tlog.Hash(recs[i].LeafHash())); err != nil {
				t.Fatalf("tlog rejects the inclusion proof of %d in %d: %v", i, size, err)
			}
			if err := VerifyInclusion(recs[(i+1)%size].LeafHash(), i, size, p, root); err == nil && size > 1 {
				t.Fatalf("inclusion proof of %d accepted another leaf", i)
			}
		}
		for _, old := range []uint64{1, size / 2, size - 1} {
			if old == 0 || old >= size {
				continue
			}
			p, err := j.ConsistencyProof(bg, old, size)
			if err != nil {
				t.Fatal(err)
			}
			oldRoot, _ := j.RootAt(bg, old)
			if err := VerifyConsistency(old, size, oldRoot, root, p); err != nil {
				t.Fatalf("consistency %d -> %d: %v", old, size, err)
			}
			if err := tlog.CheckTree(tlog.TreeProof(toTlog(p)), int64(size), want, int64(old), tlog.Hash(oldRoot)); err != nil {
				t.Fatalf("tlog rejects the consistency proof %d -> %d: %v", old, size, err)
			}
			if err := VerifyConsistency(old, size, root, root, p); err == nil {
				t.Fatalf("consistency proof %d -> %d accepted a wrong old root", old, size)
			}
		}
	}
	// Drop the first segments: proofs of retained records still work,
	// from the Merkle state in the first kept segment's header.
	first, err := j.DropBefore(bg, 40)
	if err != nil {
		t.Fatal(err)
	}
	if first == 0 || first > 40 {
		t.Fatalf("DropBefore(40) kept from %d", first)
	}
	recs2 := records(t, j)
	if recs2[0].Index != first {
		t.Fatalf("after the drop the first record is %d, want %d", recs2[0].Index, first)
	}
	size := recs2[len(recs2)-1].Index + 1
	all := append(recs[:first:first], recs2...)
	tt = newTlogTree(t, all)
	want, _ := tlog.TreeHash(int64(size), tt)
	root, err := j.RootAt(bg, size)
	if err != nil || tlog.Hash(root) != want {
		t.Fatalf("root after drop: %v, %v", root, err)
	}
	for i := first; i < size; i++ {
		p, err := j.InclusionProof(bg, i, size)
		if err != nil {
			t.Fatalf("inclusion of retained %d: %v", i, err)
		}
		if err := tlog.CheckRecord(toTlog(p), int64(size), want, int64(i), tlog.Hash(all[i].LeafHash())); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := j.InclusionProof(bg, 0, size); err == nil {
		t.Log("a proof for a dropped record could still be made from the header state")
	}
	if rep, err := Verify(bg, "/j", &VerifyOptions{FS: m}); err != nil || rep.First != first || rep.Root != root {
		t.Fatalf("Verify after drop: %v %+v", err, rep)
	}
}

func toTlog(p []Hash) tlog.RecordProof {
	out := make(tlog.RecordProof, len(p))
	for i, h := range p {
		out[i] = tlog.Hash(h)
	}
	return out
}

func TestCompactMatchesRecursiveDefinition(t *testing.T) {
	var leaves []Hash
	var c compact
	for i := range 300 {
		h := leafHash([]byte{byte(i), byte(i >> 8)})
		leaves = append(leaves, h)
		c.push(h)
		if got, want := c.root(), mth(leaves); got != want {
			t.Fatalf("size %d: compact root differs from MTH", i+1)
		}
	}
	if mth(nil) != emptyRoot || (compact{}).root() != emptyRoot {
		t.Fatal("empty root")
	}
}

// mth is RFC 6962's MTH, straight from the definition.
func mth(d []Hash) Hash {
	switch len(d) {
	case 0:
		return emptyRoot
	case 1:
		return d[0]
	}
	k := largestPow2Below(uint64(len(d)))
	return nodeHash(mth(d[:k]), mth(d[k:]))
}
