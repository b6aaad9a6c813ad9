package journal

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/durable-go/durable/internal/testdir"
)

// httpTiles is a tlog.TileReader over a served log: x/mod's verifying
// tile reader checks everything it reads against the tree's root.
type httpTiles struct {
	t    testing.TB
	base string
}

func (h httpTiles) Height() int { return TileHeight }
func (h httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	var out [][]byte
	for _, t := range tiles {
		b, _, err := get(h.base + "/" + TilePath(t))
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
func (h httpTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func get(url string) ([]byte, *http.Response, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, resp, err
	}
	if resp.StatusCode != http.StatusOK {
		return b, resp, fmt.Errorf("%s: %s: %s", url, resp.Status, b)
	}
	return b, resp, nil
}

func checkServed(t *testing.T, base string, v note.Verifier, want []Record) {
	t.Helper()
	raw, resp, err := get(base + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("checkpoint Cache-Control %q", cc)
	}
	cp, err := ParseCheckpoint(raw, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	tree := tlog.Tree{N: int64(cp.Size), Hash: tlog.Hash(cp.Root)}
	hr := tlog.TileHashReader(tree, httpTiles{t, base})
	for i := int64(0); i < tree.N; i += 1 + i/3 {
		p, err := tlog.ProveRecord(tree.N, i, hr)
		if err != nil {
			t.Fatalf("prove %d in %d: %v", i, tree.N, err)
		}
		bundle, resp, err := get(fmt.Sprintf("%s/%s", base, TilePath(tlog.Tile{H: TileHeight, L: -1, N: i / 256, W: int(min(256, tree.N-i/256*256))})))
		if err != nil {
			t.Fatal(err)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("bundle Cache-Control %q", cc)
		}
		var entry []byte
		for k := int64(0); k <= i%256; k++ {
			n := binary.BigEndian.Uint16(bundle)
			entry, bundle = bundle[2:2+n], bundle[2+n:]
		}
		if err := tlog.CheckRecord(p, tree.N, tree.Hash, i, tlog.RecordHash(entry)); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if string(entry) != string(want[i].LeafData()) {
			t.Fatalf("entry %d differs from the record", i)
		}
	}
}

func TestTilesServeVerifiedTree(t *testing.T) {
	dir := testdir.New(t)
	s, v := testKey(t, "example.com/tiles")
	j := mustOpen(t, dir, &Options{SegmentSize: 64 << 10})
	defer j.Close()
	srv := httptest.NewServer(j.TilesHandler())
	defer srv.Close()
	if _, _, err := get(srv.URL + "/checkpoint"); err == nil {
		t.Fatal("a checkpoint is served before one was signed")
	}
	var sizes []uint64
	for _, n := range []int{1, 255, 2, 300, 66000 - 558} {
		batch := make([][]byte, n)
		for k := range batch {
			batch[k] = payload(int(j.Size()) + k)
		}
		if _, err := j.AppendBatch(bg, batch); err != nil {
			t.Fatal(err)
		}
		if _, err := j.Checkpoint(bg, s); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, j.Size())
		if n < 1000 {
			var recs []Record
			for r, err := range j.Scan(0) {
				if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, r)
			}
			checkServed(t, srv.URL, v, recs)
		}
	}
	// Beyond the published tree: 404. A partial tile of every published
	// size: served, and the same bytes as the full tile's prefix.
	size := sizes[len(sizes)-1]
	if _, resp, _ := get(fmt.Sprintf("%s/tile/0/%03d", srv.URL, size/256+1)); resp.StatusCode != 404 {
		t.Errorf("tile past the checkpoint: %s", resp.Status)
	}
	appendN(t, j, int(size), 10) // appended, not signed
	if _, resp, _ := get(fmt.Sprintf("%s/tile/0/%03d.p/%d", srv.URL, size/256, size%256+1)); resp.StatusCode != 404 {
		t.Errorf("a partial tile of an unsigned size is served: %s", resp.Status)
	}
	full, _, err := get(srv.URL + "/tile/0/000")
	if err != nil {
		t.Fatal(err)
	}
	for _, sz := range sizes {
		if sz >= 256 {
			continue
		}
		part, resp, err := get(fmt.Sprintf("%s/tile/0/000.p/%d", srv.URL, sz))
		if err != nil {
			t.Fatal(err)
		}
		if string(part) != string(full[:32*sz]) || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("partial tile of size %d", sz)
		}
	}
	if len(sizes) > 0 && sizes[len(sizes)-1] >= 65536 {
		if _, _, err := get(srv.URL + "/tile/2/000.p/1"); err != nil {
			t.Errorf("level 2 tile: %v", err)
		}
	}
	if _, resp, _ := get(srv.URL + "/tile/x"); resp.StatusCode != 404 {
		t.Errorf("bad path: %s", resp.Status)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/checkpoint", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %v %v", resp, err)
	}
}

func TestTilesOversizedRecord(t *testing.T) {
	dir := testdir.New(t)
	s, _ := testKey(t, "example.com/big")
	j := mustOpen(t, dir, nil)
	defer j.Close()
	big := make([]byte, MaxTilePayload+1)
	if _, err := j.Append(bg, big[:MaxTilePayload]); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(bg, big); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Checkpoint(bg, s); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(j.TilesHandler())
	defer srv.Close()
	body, resp, _ := get(srv.URL + "/tile/entries/000.p/2")
	if resp.StatusCode != 404 || !strings.Contains(string(body), "more than an entry bundle") {
		t.Errorf("bundle with an oversized record: %s %.100q", resp.Status, body)
	}
	if _, _, err := get(srv.URL + "/tile/entries/000.p/1"); err != nil {
		t.Errorf("bundle of the record that fits: %v", err)
	}
	if _, _, err := get(srv.URL + "/tile/0/000.p/2"); err != nil {
		t.Errorf("hash tile: %v", err)
	}
	// With TileEntries, the record is refused before anything changes.
	j2 := mustOpen(t, testdir.New(t), &Options{TileEntries: true})
	defer j2.Close()
	if _, err := j2.AppendBatch(bg, [][]byte{[]byte("ok"), big}); err == nil || !strings.Contains(err.Error(), fmt.Sprint(MaxTilePayload)) {
		t.Fatalf("TileEntries append of %d bytes: %v", len(big), err)
	}
	if j2.Size() != 0 {
		t.Fatalf("the refused batch left %d records", j2.Size())
	}
}
