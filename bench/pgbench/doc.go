// Package pgbench measures durable's PostgreSQL backend (package pg)
// against what a program would otherwise write or use on the same server,
// in one run: the queue against riverqueue/river with 8 producers and 8
// consumers, a document update against a raw UPDATE of one row, and a
// lock against a raw advisory lock. They need a server:
//
//	DURABLE_TEST_PG='postgres:///postgres?host=/tmp/pg' go test -bench . -benchtime 3s ./pgbench
package pgbench
