package vfs

import (
	"fmt"
	"strings"
)

// Op is a set of filesystem calls, as a bitmask. The fault injector uses it
// to choose which calls a Fault counts, and MemFS.SetHook uses it to say
// which call has just completed.
type Op uint32

// The calls. File methods count under the call they perform: File.Read and
// File.ReadAt are OpRead, File.Write and File.WriteAt are OpWrite, File.Stat
// is OpStat, File.Sync is OpSync (also on a directory). File.Seek and
// File.Name are not counted: they never touch the disk.
const (
	OpOpen     Op = 1 << iota // FS.OpenFile
	OpRead                    // File.Read, File.ReadAt
	OpWrite                   // File.Write, File.WriteAt
	OpSync                    // File.Sync
	OpClose                   // File.Close
	OpTruncate                // File.Truncate
	OpChmod                   // File.Chmod
	OpChown                   // File.Chown
	OpStat                    // FS.Stat, FS.Lstat, File.Stat
	OpReadDir                 // FS.ReadDir
	OpReadlink                // FS.Readlink
	OpRename                  // FS.Rename
	OpLink                    // FS.Link
	OpRemove                  // FS.Remove
	OpMkdir                   // FS.Mkdir
	OpSyncDir                 // FS.SyncDir
	// OpSymlink is MemFS.Symlink. FS has no symlink call, so only the
	// MemFS hook reports it; a Fault never sees it.
	OpSymlink

	// OpAll is every call.
	OpAll Op = 1<<iota - 1
)

// String returns the calls in op joined by "|", such as "write|sync", or
// "all" for OpAll and "none" for zero. Bits that name no call are shown in
// hexadecimal.
func (op Op) String() string {
	switch op {
	case 0:
		return "none"
	case OpAll:
		return "all"
	}
	var parts []string
	for bit := Op(1); bit&OpAll != 0; bit <<= 1 {
		if op&bit != 0 {
			parts = append(parts, bit.name())
		}
	}
	if rest := op &^ OpAll; rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint32(rest)))
	}
	return strings.Join(parts, "|")
}

// name names a single call.
func (op Op) name() string {
	switch op {
	case OpOpen:
		return "open"
	case OpRead:
		return "read"
	case OpWrite:
		return "write"
	case OpSync:
		return "sync"
	case OpClose:
		return "close"
	case OpTruncate:
		return "truncate"
	case OpChmod:
		return "chmod"
	case OpChown:
		return "chown"
	case OpStat:
		return "stat"
	case OpReadDir:
		return "readdir"
	case OpReadlink:
		return "readlink"
	case OpRename:
		return "rename"
	case OpLink:
		return "link"
	case OpRemove:
		return "remove"
	case OpMkdir:
		return "mkdir"
	case OpSyncDir:
		return "syncdir"
	case OpSymlink:
		return "symlink"
	}
	return fmt.Sprintf("%#x", uint32(op))
}

// pathOp is the name package os gives a call in a *fs.PathError, so that
// injected and modelled errors read like real ones.
func (op Op) pathOp() string {
	if op == OpSyncDir {
		return "sync"
	}
	return op.name()
}
