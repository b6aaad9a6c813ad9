package vfs

import (
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// lookup is where a path leads.
type lookup struct {
	dir     *inode // directory holding the last component; nil for "/"
	dirPath string // dir's path with every symbolic link resolved
	name    string // last component
	node    *inode // what name refers to; nil when it does not exist
	dirOnly bool   // the path ended in a slash
}

// find resolves name. A missing last component is not an error (node is
// nil), so that callers can create it.
func (m *MemFS) find(name string, follow bool) (lookup, error) {
	if name == "" {
		return lookup{}, syscall.ENOENT
	}
	s := filepath.ToSlash(name)
	p := path.Clean("/" + s)
	l, err := m.walk(p, follow)
	if err != nil {
		return l, err
	}
	l.dirOnly = strings.HasSuffix(s, "/") && p != "/"
	if l.dirOnly && l.node != nil && !l.node.isDir() {
		return l, syscall.ENOTDIR
	}
	return l, nil
}

// walk resolves the clean absolute path p component by component. It keeps
// the directories it passed through on a stack, so that ".." in a symbolic
// link's target leads to the real parent.
func (m *MemFS) walk(p string, follow bool) (lookup, error) {
	type frame struct {
		dir  *inode
		path string
	}
	stack := []frame{{m.root, "/"}}
	comps := splitPath(p)
	links := 0
	for len(comps) > 0 {
		name := comps[0]
		comps = comps[1:]
		last := len(comps) == 0
		top := stack[len(stack)-1]
		if name == "." || name == ".." {
			// Only a symbolic link's target can bring these here.
			if name == ".." && len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		child := top.dir.entries[name]
		if child == nil {
			if last {
				return lookup{dir: top.dir, dirPath: top.path, name: name}, nil
			}
			return lookup{}, syscall.ENOENT
		}
		if child.isSymlink() && (follow || !last) {
			if links++; links > maxSymlinks {
				return lookup{}, syscall.ELOOP
			}
			t := filepath.ToSlash(child.target)
			if strings.HasPrefix(t, "/") {
				stack = stack[:1]
			}
			comps = append(splitPath(t), comps...)
			continue
		}
		if last {
			return lookup{dir: top.dir, dirPath: top.path, name: name, node: child}, nil
		}
		if !child.isDir() {
			return lookup{}, syscall.ENOTDIR
		}
		stack = append(stack, frame{child, path.Join(top.path, name)})
	}
	// The path, or a link's target, ended at a directory named by "/", "."
	// or "..": it exists but has no name of its own to create or remove.
	top := stack[len(stack)-1]
	l := lookup{node: top.dir, dirPath: top.path, name: path.Base(top.path)}
	if len(stack) > 1 {
		parent := stack[len(stack)-2]
		l.dir, l.dirPath = parent.dir, parent.path
	}
	return l, nil
}

func splitPath(p string) []string {
	var comps []string
	for c := range strings.SplitSeq(p, "/") {
		if c != "" {
			comps = append(comps, c)
		}
	}
	return comps
}
