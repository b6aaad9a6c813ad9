package vfs

import (
	"bytes"
	"slices"
)

// The outcomes for a file's unsynced data, as Crash documents them.
const (
	dataLost = iota
	dataPrefix
	dataZeroed
	dataKept
	dataBlocks
	dataOutcomes
)

// blockSizes are the units out-of-order writeback persists: a sector and a
// page.
var blockSizes = [...]int64{512, 4096}

// maxEnumSectors bounds the size of the files whose changes CrashStates
// splits into 512-byte sectors as well as 4 KiB pages.
const maxEnumSectors = 8

// data returns the file's content after the crash; it never aliases n's.
func (c *crash) data(n *inode) []byte {
	switch {
	case c.seed == 0 || len(n.muts) == 0:
		return slices.Clone(n.durData)
	case c.pick == nil:
		return slices.Clone(n.data)
	}
	switch c.pick.choose(dataOutcomes) {
	case dataLost:
		return slices.Clone(n.durData)
	case dataPrefix:
		keep := 1 + c.pick.choose(len(n.muts))
		d := slices.Clone(n.durData)
		for i, mu := range n.muts[:keep] {
			if i == keep-1 && !mu.trunc {
				mu.data = mu.data[:c.pick.cut(len(mu.data))]
			}
			d = mu.apply(d)
		}
		return d
	case dataZeroed:
		d := slices.Clone(n.data)
		for _, mu := range n.muts {
			if !mu.trunc && mu.off < int64(len(d)) {
				clear(d[mu.off:min(mu.off+int64(len(mu.data)), int64(len(d)))])
			}
		}
		return d
	case dataBlocks:
		return c.blocks(n)
	default:
		return slices.Clone(n.data)
	}
}

// blocks is the block-by-block outcome: each block the unsynced changes
// touched is old or new (or garbage) on its own, and the size is one the
// file had at some point since its last sync.
func (c *crash) blocks(n *inode) []byte {
	sizes := []int64{int64(len(n.durData))}
	size := int64(len(n.durData))
	var touched [][2]int64 // byte ranges that writes touched
	for _, mu := range n.muts {
		if mu.trunc {
			size = mu.size
		} else {
			size = max(size, mu.off+int64(len(mu.data)))
			touched = append(touched, [2]int64{mu.off, mu.off + int64(len(mu.data))})
		}
		if !slices.Contains(sizes, size) {
			sizes = append(sizes, size)
		}
	}
	slices.Sort(sizes)
	final := sizes[c.pick.choose(len(sizes))]
	span := max(int64(len(n.durData)), int64(len(n.data)), sizes[len(sizes)-1])
	old := resize(slices.Clone(n.durData), span)
	cur := resize(slices.Clone(n.data), span)

	sizesTried := blockSizes[:]
	if _, enum := c.pick.(*enumChooser); enum && span > maxEnumSectors*512 {
		// Every pattern of sectors of a long write is more states than an
		// enumeration can take; pages show the same reordering.
		sizesTried = blockSizes[1:]
	}
	bs := sizesTried[c.pick.choose(len(sizesTried))]
	out := old
	for b := int64(0); b < span; b += bs {
		e := min(b+bs, span)
		differs := !bytes.Equal(old[b:e], cur[b:e])
		hit := c.model.Garbage && overlaps(touched, b, e)
		options := 1
		if differs {
			options++
		}
		if hit {
			options++
		}
		if options == 1 {
			continue
		}
		k := c.pick.choose(options)
		switch {
		case k == 0:
			// old: already there
		case k == 1 && differs:
			copy(out[b:e], cur[b:e])
		default:
			for _, r := range touched {
				lo, hi := max(r[0], b), min(r[1], e)
				if lo < hi {
					c.pick.garbage(out[lo:hi])
				}
			}
		}
	}
	return resize(out, final)
}

func overlaps(ranges [][2]int64, lo, hi int64) bool {
	for _, r := range ranges {
		if r[0] < hi && lo < r[1] {
			return true
		}
	}
	return false
}
