package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/durable-go/durable"
	bolt "go.etcd.io/bbolt"
)

// Doc is the document of workload 3: about 100 KiB of JSON, of which one
// item changes per operation.
type Doc struct {
	Rev   int               `json:"rev"`
	Items map[string]string `json:"items"`
}

const (
	docItems     = 1000
	docValueSize = 88 // with its key and quotes an item is about 100 bytes
)

// documentWorkload is workload 3: change one key of a ~100 KiB document.
func documentWorkload(writers int, budget time.Duration, probe bool) Workload {
	return Workload{
		ID:     fmt.Sprintf("document-%dw", writers),
		Family: "document",
		Title:  "Update one key of a ~100 KiB JSON document, " + writersName(writers),
		What: "one call that changes one of 1,000 items and returns once the change is durable " +
			"(durable and store rewrite the whole file; SQLite and bbolt keep one row or key per item)",
		Writers:    writers,
		Budget:     budget,
		Probe:      probe,
		Contenders: documentContenders(),
	}
}

func documentContenders() []Contender {
	cs := []Contender{
		{
			ID: "durable", Name: "durable.Update",
			Claim: Claim{
				Level:  Durable,
				File:   "read, change and durable replace (fsync before the rename) under the path.lock lock",
				Dir:    "fsync of the directory after the rename",
				Source: "update.go, write.go in this tree",
			},
			Open: openDurableUpdate,
		},
		{
			ID: "sqlite", Name: "SQLite UPDATE (modernc, WAL, FULL)",
			Claim: sqliteClaim,
			Open:  openSQLiteDocument,
		},
		{
			ID: "bbolt", Name: "bbolt Put",
			Claim: boltClaim,
			Open:  openBoltDocument,
		},
	}
	if c, ok := storeHook(); ok {
		cs = append(cs[:1], append([]Contender{c}, cs[1:]...)...)
	}
	return cs
}

// seedDoc returns the document every contender starts from.
func seedDoc() Doc {
	d := Doc{Items: make(map[string]string, docItems)}
	for i := range docItems {
		d.Items[docKey(i)] = docValue(uint64(i))
	}
	return d
}

func docKey(i int) string { return fmt.Sprintf("item-%04d", i) }

func docValue(seq uint64) string {
	s := fmt.Sprintf("value-%016d-", seq)
	return s + strings.Repeat("x", docValueSize-len(s))
}

// docChanges hands out the next change: concurrent writers change
// different items with values no one wrote before.
type docChanges struct{ seq atomic.Uint64 }

func (c *docChanges) next() (key, value string) {
	n := c.seq.Add(1)
	return docKey(int(n % docItems)), docValue(docItems + n)
}

func openDurableUpdate(dir string, writers int) (Instance, error) {
	path := filepath.Join(dir, "doc.json")
	seed, err := json.Marshal(seedDoc())
	if err != nil {
		return nil, err
	}
	if err := durable.WriteFile(path, seed, 0o644); err != nil {
		return nil, err
	}
	var changes docChanges
	return funcs{op: func(int) error {
		k, v := changes.next()
		// What a program does with durable.Update: parse, change,
		// marshal; durable takes the lock, reads and publishes.
		return durable.Update(path, func(old []byte) ([]byte, error) {
			var d Doc
			if err := json.Unmarshal(old, &d); err != nil {
				return nil, err
			}
			d.Items[k] = v
			d.Rev++
			return json.Marshal(d)
		})
	}}, nil
}

func openSQLiteDocument(dir string, writers int) (Instance, error) {
	var changes docChanges
	return openSQLiteKV(dir, seedDoc().Items, changes.next)
}

func openBoltDocument(dir string, writers int) (Instance, error) {
	var changes docChanges
	return openBoltKV(dir, seedDoc().Items, changes.next)
}

// openSQLiteKV keeps a document as a table of one row an entry, seeded
// with seed, and each op updates the row next names: how a database holds
// what durable keeps as one JSON file. The document workload's values are
// strings, the field workload's JSON bytes; each is bound as it is.
func openSQLiteKV[V string | []byte](dir string, seed map[string]V, next func() (string, V)) (Instance, error) {
	db, err := openSQLite(filepath.Join(dir, "doc.db"))
	if err != nil {
		return nil, err
	}
	fail := func(err error) (Instance, error) {
		db.Close()
		return nil, err
	}
	if _, err := db.Exec("CREATE TABLE doc (k TEXT PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		return fail(err)
	}
	tx, err := db.Begin()
	if err != nil {
		return fail(err)
	}
	for k, v := range seed {
		if _, err := tx.Exec("INSERT INTO doc (k, v) VALUES (?, ?)", k, v); err != nil {
			tx.Rollback()
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	update, err := db.Prepare("UPDATE doc SET v = ? WHERE k = ?")
	if err != nil {
		return fail(err)
	}
	return funcs{
		op: func(int) error {
			k, v := next()
			_, err := update.Exec(v, k)
			return err
		},
		close: func() error {
			update.Close()
			return db.Close()
		},
	}, nil
}

// openBoltKV is openSQLiteKV for bbolt: a key an entry, one Update an op.
func openBoltKV[V string | []byte](dir string, seed map[string]V, next func() (string, V)) (Instance, error) {
	db, err := openBolt(filepath.Join(dir, "doc.bolt"))
	if err != nil {
		return nil, err
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(boltBucket)
		for k, v := range seed {
			if err := b.Put([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, err
	}
	return funcs{
		op: func(int) error {
			k, v := next()
			return db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(boltBucket).Put([]byte(k), []byte(v))
			})
		},
		close: db.Close,
	}, nil
}
