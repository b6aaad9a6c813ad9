//go:build windows

package vfs

import (
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

// Paths handed to the Windows API directly (not through package os, which
// does the same for its own calls) must fit in MAX_PATH (260 characters)
// unless they use the extended-length form \\?\C:\... or \\?\UNC\...,
// which takes up to 32,767 and skips the Win32 path parsing. Go's rule:
// anything from 248 characters on (the limit for a directory, which must
// leave room for an 8.3 name) is converted.
const longPathFrom = 248

// winPath returns name as the Windows API should see it: unchanged when
// short, or already in a \\?\ or \\.\ form; else absolute, cleaned (the
// extended form takes no "/", "." or "..") and prefixed.
func winPath(name string) string {
	if len(name) < longPathFrom || strings.HasPrefix(name, `\\?\`) || strings.HasPrefix(name, `\\.\`) {
		return name
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return name
	}
	if strings.HasPrefix(abs, `\\`) {
		return `\\?\UNC\` + abs[2:]
	}
	return `\\?\` + abs
}

// utf16Ptr is windows.UTF16PtrFromString of winPath(name).
func utf16Ptr(name string) (*uint16, error) { return windows.UTF16PtrFromString(winPath(name)) }

// onDiskName returns newname spelled as the directory already spells it,
// when it names an existing entry by another spelling: a name that differs
// only in case (NTFS and FAT compare names case-insensitively), or the
// entry's 8.3 short name ("CONFIG~1.JSO" for "config.json"). Renaming
// over "config.json" as "Config.json" or "CONFIG~1.JSO" would otherwise
// rename the user's file too: a replace changes the content, never the
// name.
func onDiskName(newname string) string {
	p, err := utf16Ptr(newname)
	if err != nil {
		return newname
	}
	var fd windows.Win32finddata
	h, err := windows.FindFirstFile(p, &fd)
	if err != nil {
		return newname
	}
	windows.FindClose(h)
	have := windows.UTF16ToString(fd.FileName[:])
	short := windows.UTF16ToString(fd.AlternateFileName[:])
	base := filepath.Base(newname)
	if have == base || !strings.EqualFold(have, base) && !strings.EqualFold(short, base) {
		return newname
	}
	return filepath.Join(filepath.Dir(newname), have)
}
