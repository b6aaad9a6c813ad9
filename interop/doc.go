// Package interop tests durable's witnessed logs against implementations
// that are not ours: filippo.io/torchwood's tlog-tiles client and
// cosignature code, and its litewitness witness. It is a module of its own
// so that the core module keeps no dependency beyond golang.org/x.
package interop
