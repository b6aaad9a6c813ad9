package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/durable-go/durable"
	ib "github.com/durable-go/durable/internal/bench"
)

// fieldWorkload is issue 23's store row at one document size: one Update
// changes one field of one entry of a map document (internal/bench's
// StoreDoc, about 100 bytes an entry as the store writes it), against the
// raw replace of as many bytes as the store's file (the floor) and
// SQLite, which keeps one row per entry (the peer).
func fieldWorkload(size int, budget time.Duration, probe bool) Workload {
	keys := ib.StoreKeysFor(size)
	cs := []Contender{
		{
			ID: "store", Name: "durable store.Update",
			Claim: storeClaim,
			Open:  func(dir string, _ int) (Instance, error) { return openField(dir, keys, fieldDefault) },
		},
		{
			ID: "raw", Name: "raw replace of the same bytes", Floor: true,
			Claim: Claim{Level: Durable, File: "fsync of the temp file before the rename",
				Dir: "fsync of the directory after the rename", Source: "internal/bench/raw.go (RawReplace)"},
			Open: func(dir string, _ int) (Instance, error) {
				data, err := ib.SeedStore(filepath.Join(dir, "seed.json"), keys)
				if err != nil {
					return nil, err
				}
				r := ib.NewRawDoc(dir, "doc.json", data)
				return funcs{op: func(int) error { return r.Update() }}, nil
			},
		},
		{
			ID: "sqlite", Name: "SQLite UPDATE of one row (modernc, WAL, FULL)",
			Claim: sqliteClaim,
			Open:  func(dir string, _ int) (Instance, error) { return openSQLiteField(dir, keys) },
		},
		{
			ID: "bbolt", Name: "bbolt Put of one key",
			Claim: boltClaim,
			Open:  func(dir string, _ int) (Instance, error) { return openBoltField(dir, keys) },
		},
	}
	if storeLogMode {
		// Both calls a program can make for this change: Update, which
		// finds what changed by comparing the document, and UpdateMember,
		// which is told.
		logClaim := Claim{Level: Durable, File: "fdatasync of the merge patch appended to the store's journal before Update returns",
			Dir: "fsync of the directory when the journal or a compacted snapshot is created", Source: "store/log*.go in this tree"}
		cs = append(cs[:1], append([]Contender{{
			ID: "storelog", Name: "durable store.UpdateMember, log mode",
			Claim: logClaim,
			Open:  func(dir string, _ int) (Instance, error) { return openField(dir, keys, fieldMember) },
		}, {
			ID: "storelogupdate", Name: "durable store.Update, log mode",
			Claim: logClaim,
			Open:  func(dir string, _ int) (Instance, error) { return openField(dir, keys, fieldLog) },
		}}, cs[1:]...)...)
	}
	if probe {
		// durable.Update too, where the document workload has always
		// had it: parse, change, marshal under the lock.
		cs = append(cs, Contender{
			ID: "durable", Name: "durable.Update",
			Claim: Claim{Level: Durable, File: "read, change and durable replace (fsync before the rename) under the path.lock lock",
				Dir: "fsync of the directory after the rename", Source: "update.go, write.go in this tree"},
			Open: func(dir string, _ int) (Instance, error) { return openDurableField(dir, keys) },
		})
	}
	return Workload{
		ID:     "document-" + strings.ReplaceAll(strings.ToLower(byteSize(int64(size))), " ", ""),
		Family: "document",
		Title:  "Update one field of a " + byteSize(int64(size)) + " map document, 1 writer",
		What: fmt.Sprintf("one call that changes one field of one of %d entries and returns once the change is durable "+
			"(the store rewrites the whole file, or in log mode appends a patch; SQLite and bbolt keep one row or key per entry; "+
			"the floor replaces a file as large as the store's)", keys),
		Writers: 1, Budget: budget, Probe: probe, Peer: "sqlite",
		Note: "Goals (issue 23): the store ≤ 1.15× the raw replace at 100 KB, ≤ 1.3× at 1 MB and 10 MB; " +
			"in log mode, faster than SQLite at 1 KB, 100 KB and 1 MB.",
		Contenders: cs,
	}
}

var storeClaim = Claim{
	Level:  Durable,
	File:   "durable replace of the document (fsync before the rename) under the lock",
	Dir:    "fsync of the directory after the rename",
	Source: "store/ in this tree, on top of durable.WriteFile",
}

// How openField's store updates the field.
const (
	fieldDefault = iota // Update, default mode
	fieldLog            // Update, log mode
	fieldMember         // UpdateMember, log mode
)

func openField(dir string, keys int, how int) (Instance, error) {
	path := filepath.Join(dir, "doc.json")
	if _, err := ib.SeedStore(path, keys); err != nil {
		return nil, err
	}
	u, err := ib.OpenFieldUpdater(path, keys, how != fieldDefault)
	if err != nil {
		return nil, err
	}
	u.Member = how == fieldMember
	ctx := context.Background()
	return funcs{op: func(int) error { return u.Update(ctx) }, close: u.Close}, nil
}

// fieldChange hands out the entry to change next and its new value, as
// FieldUpdater does for the store: a different entry each call, its Hits
// one higher.
type fieldChange struct {
	keys int
	seq  int
	hits map[int]int
}

func (c *fieldChange) next() (string, []byte) {
	c.seq++
	i := c.seq * 7919 % c.keys
	if c.hits == nil {
		c.hits = map[int]int{}
	}
	c.hits[i]++
	v, _ := json.Marshal(ib.StoreEntry{Name: "entry number " + fmt.Sprint(i), Value: fmt.Sprintf("%012d", i), Hits: c.hits[i]})
	return ib.StoreKey(i), v
}

func openSQLiteField(dir string, keys int) (Instance, error) {
	return openSQLiteKV(dir, fieldSeed(keys), (&fieldChange{keys: keys}).next)
}

func openBoltField(dir string, keys int) (Instance, error) {
	return openBoltKV(dir, fieldSeed(keys), (&fieldChange{keys: keys}).next)
}

// fieldSeed is the store's document of keys entries as the databases hold
// it: each entry's JSON under its key.
func fieldSeed(keys int) map[string][]byte {
	seed := map[string][]byte{}
	for k, e := range ib.NewStoreDoc(keys).Entries {
		seed[k], _ = json.Marshal(e)
	}
	return seed
}

func openDurableField(dir string, keys int) (Instance, error) {
	path := filepath.Join(dir, "doc.json")
	seed, err := json.Marshal(ib.NewStoreDoc(keys))
	if err != nil {
		return nil, err
	}
	if err := durable.WriteFile(path, seed, 0o644); err != nil {
		return nil, err
	}
	seq := 0
	return funcs{op: func(int) error {
		seq++
		k := ib.StoreKey(seq * 7919 % keys)
		// What a program does with durable.Update: parse, change,
		// marshal; durable takes the lock, reads and publishes.
		return durable.Update(path, func(old []byte) ([]byte, error) {
			var d ib.StoreDoc
			if err := json.Unmarshal(old, &d); err != nil {
				return nil, err
			}
			e := d.Entries[k]
			e.Hits++
			d.Entries[k] = e
			return json.Marshal(d)
		})
	}}, nil
}

// footprint is one library's disk use after a few durable appends.
type footprint struct {
	Name    string
	Records int
	Usage   ib.DiskUsage
	Err     error
}

// footprints appends records 128-byte records, each durable, with each
// library in a directory of its own under root, closes it, and measures
// what it left on disk: issue 23's "journal with 5 records" row.
func footprints(root string, records int) []footprint {
	var fs []footprint
	add := func(name string, fn func(dir string) error) {
		dir := filepath.Join(root, "footprint", fmt.Sprint(len(fs)))
		f := footprint{Name: name, Records: records}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			f.Err = err
		} else if f.Err = fn(dir); f.Err == nil {
			f.Usage, f.Err = ib.Usage(dir)
		}
		fs = append(fs, f)
	}
	add("durable journal", func(dir string) error {
		_, err := ib.JournalFootprint(filepath.Join(dir, "journal"), records)
		return err
	})
	for _, c := range appendContenders() {
		if c.ID == "journal" || c.ID == "raw" {
			continue
		}
		add(c.Name, func(dir string) error {
			inst, err := c.Open(dir, 1)
			if err != nil {
				return err
			}
			for range records {
				if err := inst.Op(0); err != nil {
					inst.Close()
					return err
				}
			}
			return inst.Close()
		})
	}
	add("the records themselves, one file", func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "records"), make([]byte, records*recordSize), 0o600)
	})
	return fs
}
