package main

// Hooks: durable's own higher-level packages as contenders. Each hook
// returns the contender and true when the package is part of this build.
// The workloads ask the hooks, so wiring a package in or out touches only
// this file.

import (
	"context"
	"path/filepath"

	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/queue"
	"github.com/durable-go/durable/store"
)

var journalClaim = Claim{
	Level:  Durable,
	File:   "fdatasync of a preallocated segment before any Append covered by it returns (group commit)",
	Dir:    "fsync of the directory when a segment is created",
	Source: "journal/journal.go, journal/segment.go in this tree",
}

var queueClaim = Claim{
	Level:  Durable,
	File:   "fdatasync of the journal segment before Push and Ack return (group commit); Pop's lease is written under the lock, flushed by the next Ack or Push",
	Dir:    "fsync of the directory when a segment is created",
	Source: "queue/ on journal/ in this tree",
}

// journalHook is durable's journal for the append workload: one Append per
// record; concurrent appenders share an fdatasync (group commit).
func journalHook() (Contender, bool) {
	return Contender{
		ID: "journal", Name: "durable journal",
		Claim: journalClaim,
		Open: func(dir string, writers int) (Instance, error) {
			j, err := journal.Open(filepath.Join(dir, "journal"), nil)
			if err != nil {
				return nil, err
			}
			ctx := context.Background()
			rec := payload(recordSize)
			return funcs{
				op: func(int) error {
					_, err := j.Append(ctx, rec)
					return err
				},
				close: j.Close,
			}, nil
		},
	}, true
}

// storeHook is durable's typed document store for the document workload,
// with its default options (pretty-printed JSON, one backup kept).
func storeHook() (Contender, bool) {
	return Contender{
		ID: "store", Name: "durable store.Update",
		Claim: Claim{
			Level:  Durable,
			File:   "durable replace of the document (fsync before the rename) under the lock",
			Dir:    "fsync of the directory after the rename",
			Source: "store/store.go in this tree, on top of durable.WriteFile",
		},
		Open: func(dir string, writers int) (Instance, error) {
			s, err := store.Open[Doc](filepath.Join(dir, "doc.json"), nil)
			if err != nil {
				return nil, err
			}
			ctx := context.Background()
			seed := seedDoc()
			if _, err := s.Update(ctx, func(d *Doc) error {
				*d = seed
				return nil
			}); err != nil {
				return nil, err
			}
			var changes docChanges
			return funcs{op: func(int) error {
				k, v := changes.next()
				_, err := s.Update(ctx, func(d *Doc) error {
					d.Items[k] = v
					d.Rev++
					return nil
				})
				return err
			}}, nil
		},
	}, true
}

// queueHook is durable's queue for the queue workload: push a message, pop
// it under a lease and ack it (one writer), or producers that push and as
// many consumers that pop and ack. Push and Ack return once durable,
// concurrent callers sharing fsyncs (the journal's group commit); Pop's
// lease is written under the lock but not flushed (queue/doc.go says why
// that keeps the queue's promise).
func queueHook(producers int) (Contender, bool) {
	return Contender{
		ID: "queue", Name: "durable queue",
		Claim: queueClaim,
		Open: func(dir string, writers int) (Instance, error) {
			q, err := queue.Open(filepath.Join(dir, "queue"), nil)
			if err != nil {
				return nil, err
			}
			ctx := context.Background()
			msg := payload(messageSize)
			if producers == 0 {
				return funcs{
					op: func(int) error {
						if _, err := q.Push(ctx, msg); err != nil {
							return err
						}
						m, err := q.Pop(ctx, leaseFor)
						if err != nil {
							return err
						}
						return q.Ack(ctx, m.Receipt())
					},
					close: q.Close,
				}, nil
			}
			var b backlog
			push := func() error { _, err := q.Push(ctx, msg); return err }
			return funcs{
				op: b.op(producers, push, func() error {
					m, err := q.Pop(ctx, leaseFor)
					if err != nil {
						return err
					}
					return q.Ack(ctx, m.Receipt())
				}),
				close: q.Close,
			}, nil
		},
	}, true
}
