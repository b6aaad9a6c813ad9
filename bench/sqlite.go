package main

import (
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // the pure-Go driver, registered as "sqlite"
)

// sqliteClaim is the same for every workload: each statement below runs in
// its own transaction, and in WAL mode with synchronous=FULL SQLite syncs
// the WAL at every commit and the directory when it creates the WAL.
var sqliteClaim = Claim{
	Level: Durable,
	File:  "sync of the WAL at every commit (synchronous=FULL)",
	Dir:   "fsync of the directory when the WAL file is created (unixOpen sets UNIXFILE_DIRSYNC for a new WAL)",
	Source: "modernc.org/sqlite, a translation of SQLite's C source: os_unix.c (unixSync, unixOpen), " +
		"wal.c; https://sqlite.org/pragma.html#pragma_synchronous",
}

// openSQLite opens a database in WAL mode with synchronous=FULL on every
// connection, and checks that both took: a peer quietly left in the
// default rollback-journal mode would be measured doing something else.
func openSQLite(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One connection: SQLite has one writer at a time anyway, and
	// database/sql then queues concurrent callers instead of letting
	// them collide in SQLITE_BUSY. It is what SQLite's users are told
	// to do for a write-heavy pool.
	db.SetMaxOpenConns(1)
	var mode string
	var sync int
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
		db.Close()
		return nil, err
	}
	if mode != "wal" || sync != 2 {
		db.Close()
		return nil, fmt.Errorf("sqlite: journal_mode=%s synchronous=%d, want wal and 2 (FULL)", mode, sync)
	}
	return db, nil
}

// sqliteVersion is the version of SQLite the driver was translated from.
func sqliteVersion() string {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return ""
	}
	defer db.Close()
	var v string
	if err := db.QueryRow("SELECT sqlite_version()").Scan(&v); err != nil {
		return ""
	}
	return v
}
