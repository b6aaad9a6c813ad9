package journal

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math/bits"
)

// Hash is a SHA-256 hash: a leaf, a node or the root of the Merkle tree.
type Hash [32]byte

// String returns the hash in hexadecimal.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Base64 returns the hash in standard base64, as checkpoints write it.
func (h Hash) Base64() string { return base64.StdEncoding.EncodeToString(h[:]) }

// emptyRoot is the root of the empty tree (RFC 6962: the hash of "").
var emptyRoot = Hash(sha256.Sum256(nil))

// leafHash is RFC 6962's leaf hash, SHA-256(0x00 || data).
func leafHash(data []byte) Hash {
	return newLeafHasher().sum(data)
}

var leafPrefix = []byte{0}

// leafHasher is leafHash with a SHA-256 digest and a sum buffer to reuse:
// the group commit hashes every record of a batch in its critical path,
// and a Hash returned through the hash.Hash interface escaped, one
// allocation per record.
type leafHasher struct {
	h   hash.Hash
	out []byte
}

func newLeafHasher() leafHasher {
	return leafHasher{h: sha256.New(), out: make([]byte, 0, sha256.Size)}
}

func (l leafHasher) sum(data []byte) Hash {
	l.h.Reset()
	l.h.Write(leafPrefix)
	l.h.Write(data)
	return Hash(l.h.Sum(l.out[:0]))
}

// nodeHash is RFC 6962's interior node hash, SHA-256(0x01 || left || right).
func nodeHash(left, right Hash) Hash {
	var buf [65]byte
	buf[0] = 1
	copy(buf[1:], left[:])
	copy(buf[33:], right[:])
	return sha256.Sum256(buf[:])
}

// compact is the Merkle state of a tree of size leaves: the roots of its
// perfect subtrees, largest (leftmost) first, one per bit set in size. It
// is what a segment header stores and all that appending needs.
type compact struct {
	size   uint64
	hashes []Hash
}

func newCompact(size uint64, hashes []Hash) (compact, error) {
	if bits.OnesCount64(size) != len(hashes) {
		return compact{}, errors.New("subtree count does not match tree size")
	}
	return compact{size: size, hashes: append([]Hash(nil), hashes...)}, nil
}

func (c compact) clone() compact {
	return compact{size: c.size, hashes: append([]Hash(nil), c.hashes...)}
}

// push adds a leaf hash.
func (c *compact) push(h Hash) { c.pushNode(h, 0) }

// pushNode adds the root of a perfect subtree of 2^height leaves; size
// must be a multiple of 2^height.
func (c *compact) pushNode(h Hash, height int) {
	c.hashes = append(c.hashes, h)
	for s := c.size >> height; s&1 == 1; s >>= 1 {
		n := len(c.hashes)
		c.hashes[n-2] = nodeHash(c.hashes[n-2], c.hashes[n-1])
		c.hashes = c.hashes[:n-1]
	}
	c.size += 1 << height
}

// root returns the RFC 6962 tree head of the leaves pushed so far.
func (c compact) root() Hash {
	n := len(c.hashes)
	if n == 0 {
		return emptyRoot
	}
	h := c.hashes[n-1]
	for i := n - 2; i >= 0; i-- {
		h = nodeHash(c.hashes[i], h)
	}
	return h
}

// nodes returns the perfect subtrees of c with their positions: subtree i
// covers leaves [lo, lo+2^height).
func (c compact) nodes() []node {
	var out []node
	lo := uint64(0)
	i := 0
	for b := 63; b >= 0; b-- {
		if c.size&(1<<b) != 0 {
			out = append(out, node{lo: lo, height: b, hash: c.hashes[i]})
			lo += 1 << b
			i++
		}
	}
	return out
}

func equalHashes(a, b []Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// node is a perfect subtree: leaves [lo, lo+2^height).
type node struct {
	lo     uint64
	height int
	hash   Hash
}

// span is the leaf range [lo, hi) whose hash a proof needs.
type span struct{ lo, hi uint64 }

// largestPow2Below returns the largest power of two less than n (n > 1).
func largestPow2Below(n uint64) uint64 { return 1 << (bits.Len64(n-1) - 1) }

// inclusionSpans lists the subtrees of RFC 6962's PATH(m, D[lo:hi]),
// leaf first.
func inclusionSpans(m, lo, hi uint64) []span {
	if hi-lo <= 1 {
		return nil
	}
	k := largestPow2Below(hi - lo)
	if m < k {
		return append(inclusionSpans(m, lo, lo+k), span{lo + k, hi})
	}
	return append(inclusionSpans(m-k, lo+k, hi), span{lo, lo + k})
}

// consistencySpans lists the subtrees of RFC 6962's SUBPROOF(m, D[lo:hi], b).
func consistencySpans(m, lo, hi uint64, b bool) []span {
	n := hi - lo
	if m == n {
		if b {
			return nil
		}
		return []span{{lo, hi}}
	}
	k := largestPow2Below(n)
	if m <= k {
		return append(consistencySpans(m, lo, lo+k, b), span{lo + k, hi})
	}
	return append(consistencySpans(m-k, lo+k, hi, false), span{lo, lo + k})
}

// spanHasher computes the hashes of disjoint spans from a stream of
// perfect subtrees and leaves in left-to-right order: the subtrees of a
// segment header stand for records that were dropped.
type spanHasher struct {
	spans []span
	acc   []compact // per span, relative to its lo
	err   error
}

func newSpanHasher(spans []span) *spanHasher {
	return &spanHasher{spans: spans, acc: make([]compact, len(spans))}
}

// add feeds the subtree [lo, lo+2^height).
func (s *spanHasher) add(lo uint64, height int, h Hash) {
	hi := lo + 1<<height
	for i, sp := range s.spans {
		switch {
		case hi <= sp.lo || lo >= sp.hi:
			continue
		case lo >= sp.lo && hi <= sp.hi:
			s.acc[i].pushNode(h, height)
		default:
			if s.err == nil {
				s.err = fmt.Errorf("the proof needs leaves [%d, %d), which were dropped", max(lo, sp.lo), min(hi, sp.hi))
			}
		}
		return
	}
}

func (s *spanHasher) hashes() ([]Hash, error) {
	if s.err != nil {
		return nil, s.err
	}
	out := make([]Hash, len(s.spans))
	for i, sp := range s.spans {
		if s.acc[i].size != sp.hi-sp.lo {
			return nil, fmt.Errorf("leaves [%d, %d) are not all available", sp.lo, sp.hi)
		}
		out[i] = s.acc[i].root()
	}
	return out, nil
}

// ErrProof is wrapped by the errors of VerifyInclusion and
// VerifyConsistency (along with ErrTampered).
var ErrProof = errors.New("journal: proof does not verify")

func proofErr(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrTampered, ErrProof, fmt.Sprintf(format, args...))
}

// VerifyInclusion checks that leaf is the hash of record index in the tree
// of size leaves whose root is root, given the proof from
// Journal.InclusionProof (RFC 9162, section 2.1.3.2).
func VerifyInclusion(leaf Hash, index, size uint64, proof []Hash, root Hash) error {
	if index >= size {
		return proofErr("index %d is not in a tree of size %d", index, size)
	}
	fn, sn := index, size-1
	r := leaf
	for _, p := range proof {
		if sn == 0 {
			return proofErr("inclusion proof too long")
		}
		if fn&1 == 1 || fn == sn {
			r = nodeHash(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = nodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return proofErr("inclusion proof too short")
	}
	if r != root {
		return proofErr("record %d is not in the tree of size %d with root %s", index, size, root)
	}
	return nil
}

// VerifyConsistency checks that the tree of size oldSize with root oldRoot
// is a prefix of the tree of size newSize with root newRoot, given the
// proof from Journal.ConsistencyProof (RFC 9162, section 2.1.4.2).
func VerifyConsistency(oldSize, newSize uint64, oldRoot, newRoot Hash, proof []Hash) error {
	switch {
	case oldSize > newSize:
		return proofErr("old size %d is larger than new size %d", oldSize, newSize)
	case oldSize == newSize:
		if len(proof) != 0 || oldRoot != newRoot {
			return proofErr("trees of equal size %d differ", oldSize)
		}
		return nil
	case oldSize == 0:
		if len(proof) != 0 || oldRoot != emptyRoot {
			return proofErr("bad proof from the empty tree")
		}
		return nil
	}
	if oldSize&(oldSize-1) == 0 {
		proof = append([]Hash{oldRoot}, proof...)
	}
	if len(proof) == 0 {
		return proofErr("consistency proof empty")
	}
	fn, sn := oldSize-1, newSize-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := proof[0], proof[0]
	for _, c := range proof[1:] {
		if sn == 0 {
			return proofErr("consistency proof too long")
		}
		if fn&1 == 1 || fn == sn {
			fr = nodeHash(c, fr)
			sr = nodeHash(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			sr = nodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return proofErr("consistency proof too short")
	}
	if fr != oldRoot || sr != newRoot {
		return proofErr("tree of size %d is not a prefix of the tree of size %d", oldSize, newSize)
	}
	return nil
}
