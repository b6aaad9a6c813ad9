package jsonenc

// shapeGens maps the maps of leaves a shape follows to their shapeGen
// when it was taken: in place for the first few (a document has one or
// two; a map per Shape cost an allocation on every update), then in a map.
type shapeGens struct {
	few  [4]shapeGen
	n    int
	more map[*node]uint64
}

type shapeGen struct {
	n   *node
	gen uint64
}

func (g *shapeGens) set(n *node, gen uint64) {
	if g.n < len(g.few) {
		g.few[g.n] = shapeGen{n, gen}
		g.n++
		return
	}
	if g.more == nil {
		g.more = map[*node]uint64{}
	}
	g.more[n] = gen
}

func (g *shapeGens) get(n *node) (uint64, bool) {
	for _, e := range g.few[:g.n] {
		if e.n == n {
			return e.gen, true
		}
	}
	gen, ok := g.more[n]
	return gen, ok
}
