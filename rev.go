package durable

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"slices"
)

// Rev (a revision) identifies one content of a file by its hash: read it
// with ReadRev, and pass it to IfRev so that a later write fails with
// ErrConflict if someone else wrote the file in between. The zero Rev
// stands for "the file does not exist". Package store's documents carry the
// same Rev. (A Rev is a content hash; format versions are called
// FormatVersion and schema numbers Schema, so that "version" never means
// two things.)
//
// A Rev is a SHA-256 hash tree of the content, two levels deep: the
// content is cut into chunks, each at least 4 KiB long and ending at a
// newline (or at the end), and the Rev is the SHA-256 of the string
// "durable version 1\n" (the hash's own label, kept so that revisions
// stay comparable across releases) followed by the SHA-256 of each chunk. Two contents
// share a Rev only if they are equal, as with a plain SHA-256; the
// chunks let a RevTracker hash a large document that changed in a few
// places by rehashing only the chunks around the changes. Cutting at
// newlines keeps chunks after a change that moved the rest of the file
// (an insertion, a value that got longer) the same.
type Rev struct{ sum [sha256.Size]byte }

// revChunk is the least length of a chunk that is not the last.
const revChunk = 4 << 10

var revLabel = []byte("durable version 1\n")

// RevOf returns the Rev of content; nil content (a missing file)
// gives the zero Rev.
func RevOf(content []byte) Rev {
	if content == nil {
		return Rev{}
	}
	root := sha256.New()
	root.Write(revLabel)
	for s := 0; s < len(content); {
		e := chunkEnd(content, s)
		sum := sha256.Sum256(content[s:e])
		root.Write(sum[:])
		s = e
	}
	return revFrom(root)
}

func revFrom(root hash.Hash) Rev {
	var v Rev
	root.Sum(v.sum[:0])
	return v
}

// chunkEnd returns where the chunk of content that starts at s ends: after
// the first newline at least revChunk bytes from s, or at the end.
func chunkEnd(content []byte, s int) int {
	m := s + revChunk - 1
	if m >= len(content) {
		return len(content)
	}
	if i := bytes.IndexByte(content[m:], '\n'); i >= 0 {
		return m + i + 1
	}
	return len(content)
}

// String returns "absent" for the zero Rev, and otherwise "v1:" (the
// scheme of Rev) and the first 8 bytes of the hash in hex, enough to
// tell revisions apart when a person reads them.
func (v Rev) String() string {
	if v == (Rev{}) {
		return "absent"
	}
	return fmt.Sprintf("v1:%x", v.sum[:8])
}

// A RevTracker computes the Revs of successive contents of one
// file, such as each new version of a document that a program keeps in
// memory and writes back: the Rev of a content that differs from the
// one before in a few places costs comparing the two and hashing the
// chunks around the differences (see Rev), not hashing it all. The
// zero RevTracker is ready to use; it is not safe for concurrent use.
//
// It keeps the last content it was given, without copying it: the caller
// must not modify that content until the next call of Rev or Reset.
type RevTracker struct {
	content []byte
	ends    []int // where each chunk of content ends
	sums    [][sha256.Size]byte
	v       Rev

	spareEnds []int // storage for the next ends and sums
	spareSums [][sha256.Size]byte

	known  bool // content, ends, sums and v describe one content
	root   hash.Hash
	hashed int // chunks the last call hashed, for tests
}

// Rev returns the Rev of content, RevOf(content).
func (t *RevTracker) Rev(content []byte) Rev {
	if content == nil {
		t.Reset()
		return Rev{}
	}
	if t.root == nil {
		t.root = sha256.New()
	}
	t.hashed = 0
	if !t.known {
		t.ends, t.sums = t.rehash(content, 0, t.ends[:0], t.sums[:0], nil)
	} else {
		// The common prefix is also the equality test: comparing the
		// two for equality first would read that prefix twice.
		p := len(content)
		if len(t.content) != p || p > 0 && &t.content[0] != &content[0] {
			p = commonPrefix(t.content, content)
		}
		if p == len(content) && p == len(t.content) {
			t.content = content
			return t.v
		}
		t.ends, t.sums = t.update(content, p)
	}
	t.content, t.known = content, true
	t.root.Reset()
	t.root.Write(revLabel)
	for i := range t.sums {
		t.root.Write(t.sums[i][:])
	}
	t.v = revFrom(t.root)
	return t.v
}

// Reset forgets the last content.
func (t *RevTracker) Reset() {
	t.content, t.known = nil, false
	t.ends, t.sums = t.ends[:0], t.sums[:0]
}

// update returns the chunks of content, reusing those of t.content that
// lie before the first difference, at p, and those after the last one
// that start where t.content had a chunk start.
func (t *RevTracker) update(content []byte, p int) ([]int, [][sha256.Size]byte) {
	old := t.content
	l := commonSuffix(old[p:], content[p:])
	// Chunks that end before the first difference are the same, except a
	// last chunk, which ended only because the content did. (Chunks are
	// few, a 1 MiB file has about 256, so a scan finds them.)
	k := 0
	for k < len(t.ends)-1 && t.ends[k] <= p {
		k++
	}
	start := 0
	if k > 0 {
		start = t.ends[k-1]
	}
	// The new lists go where the lists before the last went: the old
	// ones are read until the end (resync).
	ends := append(t.spareEnds[:0], t.ends[:k]...)
	sums := append(t.spareSums[:0], t.sums[:k]...)
	resync := &suffixChunks{ends: t.ends, sums: t.sums, from: len(content) - l, delta: len(content) - len(old)}
	ends, sums = t.rehash(content, start, ends, sums, resync)
	t.spareEnds, t.spareSums = t.ends, t.sums
	return ends, sums
}

// suffixChunks tells where the chunks of the new content meet those of the
// old one again: a chunk that starts inside the common suffix, where the old
// content had a chunk start, is followed by the same chunks as there.
type suffixChunks struct {
	ends  []int // the old content's chunks
	sums  [][sha256.Size]byte
	from  int // the common suffix starts here in the new content
	delta int // new offset - old offset, in the common suffix
}

// at returns the old chunk that starts at old offset o, if one does.
func (r *suffixChunks) at(o int) (int, bool) {
	if o == 0 {
		return 0, len(r.ends) > 0
	}
	j, ok := slices.BinarySearch(r.ends, o)
	return j + 1, ok && j+1 < len(r.ends)
}

// rehash appends the chunks of content from s on to ends and sums.
func (t *RevTracker) rehash(content []byte, s int, ends []int, sums [][sha256.Size]byte, resync *suffixChunks) ([]int, [][sha256.Size]byte) {
	for s < len(content) {
		if resync != nil && s >= resync.from {
			if i, ok := resync.at(s - resync.delta); ok {
				for ; i < len(resync.ends); i++ {
					ends = append(ends, resync.ends[i]+resync.delta)
					sums = append(sums, resync.sums[i])
				}
				return ends, sums
			}
		}
		e := chunkEnd(content, s)
		ends = append(ends, e)
		sums = append(sums, sha256.Sum256(content[s:e]))
		t.hashed++
		s = e
	}
	return ends, sums
}

// commonPrefix returns the length of the longest common prefix of a and b.
// It compares in large blocks first: bytes.Equal is fast, its calls are not.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for _, block := range [...]int{4096, 128} {
		for i+block <= n && bytes.Equal(a[i:i+block], b[i:i+block]) {
			i += block
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// commonSuffix returns the length of the longest common suffix of a and b.
func commonSuffix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for _, block := range [...]int{4096, 128} {
		for i+block <= n && bytes.Equal(a[len(a)-i-block:len(a)-i], b[len(b)-i-block:len(b)-i]) {
			i += block
		}
	}
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	return i
}
