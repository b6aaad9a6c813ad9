package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// Serving the log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles).

const (
	// TileHeight is the height of the tiles TilesHandler serves: 256 hashes
	// or entries per full tile, as tlog-tiles fixes it.
	TileHeight = 8
	tileWidth  = 1 << TileHeight
	// MaxTileEntry is the largest entry an entry bundle can carry: entries
	// are prefixed with a 16-bit length. An entry is a record's
	// Record.LeafData, the payload and 24 bytes before it.
	MaxTileEntry = 1<<16 - 1
	// MaxTilePayload is the largest payload whose record an entry bundle
	// can carry (Options.TileEntries refuses larger ones).
	MaxTilePayload = MaxTileEntry - 24

	immutable = "public, max-age=31536000, immutable"
)

// TilesHandler returns an http.Handler that serves the log as tlog-tiles,
// under whatever prefix it is mounted at:
//
//   - "checkpoint": the stored checkpoint, exactly as stored (with the
//     cosignatures witnesses attached), "Cache-Control: no-cache";
//   - "tile/<L>/<N>[.p/<W>]": hash tiles of the tree the checkpoint signs;
//   - "tile/entries/<N>[.p/<W>]": entry bundles: each record's LeafData
//     (so that an entry's RFC 6962 leaf hash is the tree's), prefixed with
//     its length in 16 bits, big-endian.
//
// Only what lies under the published checkpoint is served: a tile or
// bundle that reaches past its size is 404, so a client can never see a
// tree the log has not signed. Full tiles, and partial tiles of width W
// (which any tree of a size that ends there has: the log only grows), never
// change and are served as immutable. A bundle holding a record whose
// LeafData is longer than MaxTileEntry cannot be encoded and is 404 with
// a body that says so; the hash tiles and the checkpoint are still served,
// so such a record can still be proven to anyone who has its bytes. Use
// Options.TileEntries to refuse such records when they are appended.
// Records removed by DropBefore are 404 too.
func (j *Journal) TilesHandler() http.Handler {
	return &tileServer{j: j}
}

type tileServer struct{ j *Journal }

func (s *tileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	cp, raw, err := s.published()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.Error(w, "no checkpoint published yet", http.StatusNotFound)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if path == checkpointName {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(raw)
		return
	}
	t, err := parseTilePath(path)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	data, status, err := s.tile(r.Context(), t, cp.Size)
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", immutable)
	w.Write(data)
}

func (s *tileServer) published() (*Checkpoint, []byte, error) {
	raw, err := readSidecar(s.j, checkpointName)
	if err != nil {
		return nil, nil, err
	}
	cp, err := ParseCheckpoint(raw, nil)
	if err != nil {
		return nil, nil, err
	}
	return cp, raw, nil
}

// parseTilePath parses a tlog-tiles path; tlog's parser does the work,
// with its height and its name for entry bundles.
func parseTilePath(p string) (tlog.Tile, error) {
	var t tlog.Tile
	var err error
	if rest, ok := strings.CutPrefix(p, "tile/entries/"); ok {
		t, err = tlog.ParseTilePath("tile/8/data/" + rest)
	} else if rest, ok := strings.CutPrefix(p, "tile/"); ok {
		t, err = tlog.ParseTilePath("tile/8/" + rest)
	} else {
		err = errors.New("not a tile path")
	}
	if err == nil && t.H != TileHeight {
		err = errors.New("tile height")
	}
	return t, err
}

// TilePath returns the tlog-tiles path of t (tile height TileHeight).
func TilePath(t tlog.Tile) string {
	if t.L == -1 {
		return "tile/entries/" + strings.TrimPrefix(t.Path(), "tile/8/data/")
	}
	return "tile/" + strings.TrimPrefix(t.Path(), "tile/8/")
}

// tile returns the content of t in the tree of size records, or the HTTP
// status that says why not.
func (s *tileServer) tile(ctx context.Context, t tlog.Tile, size uint64) ([]byte, int, error) {
	level := 0
	if t.L > 0 {
		level = t.L * TileHeight
	}
	if level >= 64 {
		return nil, http.StatusNotFound, errors.New("no such tile")
	}
	have := size >> level // nodes at this level in the tree
	first := uint64(t.N) * tileWidth
	if first >= have || uint64(t.W) > have-first {
		return nil, http.StatusNotFound, fmt.Errorf("the published tree (%d records) does not reach this tile", size)
	}
	w := uint64(t.W)
	if t.L == -1 {
		return s.bundle(ctx, first, w)
	}
	spans := make([]span, w)
	for i := range w {
		spans[i] = span{(first + i) << level, (first + i + 1) << level}
	}
	hs, err := s.j.hashSpans(ctx, spans, spans[w-1].hi)
	if err != nil {
		return nil, http.StatusNotFound, fmt.Errorf("the records under this tile are not available: %v", err)
	}
	out := make([]byte, 0, len(hs)*len(Hash{}))
	for _, h := range hs {
		out = append(out, h[:]...)
	}
	return out, http.StatusOK, nil
}

func (s *tileServer) bundle(ctx context.Context, first, w uint64) ([]byte, int, error) {
	var out []byte
	next := first
	for rec, err := range s.j.Scan(first) {
		if err != nil {
			return nil, http.StatusInternalServerError, err
		}
		if err := ctx.Err(); err != nil {
			return nil, http.StatusServiceUnavailable, err
		}
		if rec.Index != next {
			return nil, http.StatusNotFound, fmt.Errorf("record %d was dropped", next)
		}
		leaf := rec.LeafData()
		if len(leaf) > MaxTileEntry {
			return nil, http.StatusNotFound, fmt.Errorf("record %d is %d bytes, more than an entry bundle can carry (%d): prove it with the hash tiles and its bytes from elsewhere", rec.Index, len(leaf), MaxTileEntry)
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(leaf)))
		out = append(out, leaf...)
		next++
		if next == first+w {
			return out, http.StatusOK, nil
		}
	}
	return nil, http.StatusNotFound, fmt.Errorf("the log has no record %d", next)
}
