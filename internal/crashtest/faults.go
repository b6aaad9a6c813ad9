package crashtest

import (
	"io"
	"syscall"

	"github.com/durable-go/durable/vfs"
)

// The error-injection layer (DESIGN.md, test layer 2) fails every call a
// workload makes, one at a time, in each of the ways below, and checks
// that the error surfaces and nothing acknowledged is lost.

// Fault is one injected failure, and the error the caller must see.
type Fault struct {
	Label string // "ENOSPC", "EIO", "ENOSPC from then on", "short write"
	Fault vfs.Fault
	Want  error
}

// FaultOps are all the kinds of call a workload can make through vfs, for
// tests that fail every one of them.
func FaultOps() []vfs.Op {
	return []vfs.Op{vfs.OpOpen, vfs.OpRead, vfs.OpWrite, vfs.OpSync, vfs.OpClose, vfs.OpTruncate,
		vfs.OpChmod, vfs.OpChown, vfs.OpStat, vfs.OpReadDir, vfs.OpReadlink, vfs.OpRename, vfs.OpLink,
		vfs.OpRemove, vfs.OpMkdir, vfs.OpSyncDir}
}

// FaultsAt returns the ways to fail the n-th call of kind: ENOSPC, EIO,
// ENOSPC for that call and every later one (a disk that stays full), and
// for a write a silent short write (io.ErrShortWrite must surface).
func FaultsAt(kind vfs.Op, n int) []Fault {
	faults := []Fault{
		{"ENOSPC", vfs.Fault{Ops: kind, N: n, Err: syscall.ENOSPC}, syscall.ENOSPC},
		{"EIO", vfs.Fault{Ops: kind, N: n, Err: syscall.EIO}, syscall.EIO},
		{"ENOSPC from then on", vfs.Fault{Ops: kind, N: n, Err: syscall.ENOSPC, Sticky: true}, syscall.ENOSPC},
	}
	if kind == vfs.OpWrite {
		faults = append(faults, Fault{"short write", vfs.Fault{Ops: kind, N: n, Short: true}, io.ErrShortWrite})
	}
	return faults
}
