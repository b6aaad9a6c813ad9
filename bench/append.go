package main

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	ib "github.com/durable-go/durable/internal/bench"
	"github.com/tidwall/wal"
	bolt "go.etcd.io/bbolt"
)

// recordSize is the size of one appended record.
const recordSize = 128

// appendWorkload is workload 2: durable appends of 128-byte records by
// writers concurrent goroutines.
func appendWorkload(writers int, budget time.Duration, probe bool) Workload {
	contenders := appendContenders()
	if writers > 1 {
		// Beside the floor of one fdatasync per writer, the floor a
		// group commit cannot beat.
		contenders = append(contenders, groupAppendContender(false, false))
	}
	return Workload{
		ID:         fmt.Sprintf("append-%dw", writers),
		Family:     "append",
		Title:      fmt.Sprintf("Durable append of %d-byte records, %s", recordSize, writersName(writers)),
		What:       fmt.Sprintf("one call that appends one %d-byte record and returns once it is durable", recordSize),
		Writers:    writers,
		Budget:     budget,
		Probe:      probe,
		Contenders: contenders,
	}
}

func appendContenders() []Contender {
	cs := []Contender{
		{
			ID: "raw", Name: "raw pwrite+fdatasync", Floor: true,
			Claim: rawAppendClaim,
			Open:  openRawAppend,
		},
		{
			ID: "wal", Name: "tidwall/wal",
			Claim: Claim{
				Level: Partly,
				Short: "new segments not dir-synced",
				File:  "fsync (File.Sync) after every Write when NoSync is false",
				Dir: "none: the log directory (MkdirAll) and every segment file (load, and cycle every ~20 MB) " +
					"are created without a directory fsync",
				Source: "wal.go (Open, load, cycle, writeBatch)",
			},
			Open: openWAL,
		},
		{
			ID: "sqlite", Name: "SQLite INSERT (modernc, WAL, FULL)",
			Claim: sqliteClaim,
			Open:  openSQLiteAppend,
		},
		{
			ID: "bbolt", Name: "bbolt Update",
			Claim: boltClaim,
			Open:  openBoltAppend,
		},
	}
	if c, ok := journalHook(); ok {
		cs = append([]Contender{c}, cs...)
	}
	return cs
}

func openRawAppend(dir string, writers int) (Instance, error) {
	r, err := ib.NewRawAppender(dir, rawAppendSize)
	if err != nil {
		return nil, err
	}
	rec := payload(recordSize)
	return funcs{op: func(int) error { return r.Append(rec) }, close: r.Close}, nil
}

func openWAL(dir string, writers int) (Instance, error) {
	opts := *wal.DefaultOptions
	opts.NoSync = false // the default, stated: fsync after every write
	l, err := wal.Open(filepath.Join(dir, "wal"), &opts)
	if err != nil {
		return nil, err
	}
	rec := payload(recordSize)
	// Write takes the next index, which the caller must pick: concurrent
	// writers take turns under a lock, as they would in a real program.
	var mu sync.Mutex
	return funcs{
		op: func(int) error {
			mu.Lock()
			defer mu.Unlock()
			last, err := l.LastIndex()
			if err != nil {
				return err
			}
			return l.Write(last+1, rec)
		},
		close: l.Close,
	}, nil
}

func openSQLiteAppend(dir string, writers int) (Instance, error) {
	db, err := openSQLite(filepath.Join(dir, "log.db"))
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec("CREATE TABLE log (id INTEGER PRIMARY KEY, body BLOB NOT NULL)"); err != nil {
		db.Close()
		return nil, err
	}
	insert, err := db.Prepare("INSERT INTO log (body) VALUES (?)")
	if err != nil {
		db.Close()
		return nil, err
	}
	rec := payload(recordSize)
	return funcs{
		// Outside an explicit transaction every INSERT is a
		// transaction of its own: one commit, one WAL sync.
		op: func(int) error { _, err := insert.Exec(rec); return err },
		close: func() error {
			insert.Close()
			return db.Close()
		},
	}, nil
}

var rawAppendClaim = Claim{
	Level:  Durable,
	File:   "fdatasync after every write into a preallocated file",
	Dir:    "fsync of the directory once, after creating the file",
	Source: "internal/bench/raw.go (RawAppender)",
}

// boltClaim is the same for every workload: each Update is one commit.
var boltClaim = Claim{
	Level:  Partly,
	Short:  "file creation not dir-synced",
	File:   "fdatasync of the pages, then of the meta page, at every commit; fsync when the file grows",
	Dir:    "none: Open creates the file and syncs only the file (init)",
	Source: "tx.go (Commit, write, writeMeta), db.go (init, grow), bolt_linux.go (fdatasync)",
}

var boltBucket = []byte("b")

func openBoltAppend(dir string, writers int) (Instance, error) {
	db, err := openBolt(filepath.Join(dir, "log.bolt"))
	if err != nil {
		return nil, err
	}
	rec := payload(recordSize)
	return funcs{
		op: func(int) error {
			return db.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket(boltBucket)
				seq, err := b.NextSequence()
				if err != nil {
					return err
				}
				return b.Put(binary.BigEndian.AppendUint64(nil, seq), rec)
			})
		},
		close: db.Close,
	}, nil
}

// openBolt opens a bbolt database with syncing on (NoSync false, the
// default) and the bucket every workload uses.
func openBolt(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 10 * time.Second, NoSync: false})
	if err != nil {
		return nil, err
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func writersName(n int) string {
	if n == 1 {
		return "1 writer"
	}
	return fmt.Sprintf("%d concurrent writers", n)
}
