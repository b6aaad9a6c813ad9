package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
)

// Machine is what the numbers were measured on.
type Machine struct {
	CPUs    int
	CPU     string // model name, where the system says
	OS      string // GOOS/GOARCH and the distribution
	Kernel  string // uname -r
	FS      string // filesystem type of the directory measured in (statfs)
	MountFS string // the type its mount is listed with ("ext4" where statfs says ext2/3/4)
	Mount   string // its device and mount options, where the system says
	Dir     string
	Go      string
	Durable string // the revision of the working tree benchmarked
	Peers   string // the other contenders' module versions
	SQLite  string // the SQLite version inside modernc.org/sqlite
}

func machine(dir string) Machine {
	m := Machine{
		CPUs:   runtime.NumCPU(),
		CPU:    cpuModel(),
		OS:     runtime.GOOS + "/" + runtime.GOARCH,
		Kernel: kernel(),
		Dir:    repoRelative(dir),
		Go:     runtime.Version(),
	}
	if d := distro(); d != "" {
		m.OS += ", " + d
	}
	m.FS, m.MountFS, m.Mount = filesystem(dir)
	m.Durable = revision()
	m.Peers = versions()
	m.SQLite = sqliteVersion()
	return m
}

// FSName is the filesystem's most specific name.
func (m Machine) FSName() string {
	if m.MountFS != "" {
		return m.MountFS
	}
	return m.FS
}

// kernel is what uname -r prints.
func kernel() string {
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		return strings.TrimSpace(string(b))
	}
	out, err := exec.Command("uname", "-r").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// distro is PRETTY_NAME from os-release, or "".
func distro() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// cpuModel is the first "model name" of /proc/cpuinfo, or "".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// revision names the commit the working tree is on (bench/go.mod replaces
// the module with ../). The tree may hold changes on top of it; the
// benchmark measures the tree as it is. No path is printed: the report is
// committed, and this machine's directories mean nothing to its readers.
func revision() string {
	cmd := exec.Command("git", "rev-parse", "--short", "HEAD")
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0") // read only: never touch the index
	out, err := cmd.Output()
	f := strings.Fields(string(out))
	if err != nil || len(f) != 1 {
		return "this working tree"
	}
	return "this working tree, on commit " + f[0] + " (with any uncommitted changes)"
}

// repoRelative says where dir is relative to the repository's top: the
// report names no directory of the machine it ran on. The random part of
// a run's scratch directory becomes a *, so that reports differ only in
// their numbers.
func repoRelative(dir string) string {
	cmd := exec.Command("git", "rev-parse", "--show-toplevel")
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0")
	out, err := cmd.Output()
	top := strings.TrimSpace(string(out))
	if err != nil || top == "" {
		return "a directory outside any repository"
	}
	// Both resolved: a symlinked /tmp or home would make them differ.
	if t, err := filepath.EvalSymlinks(top); err == nil {
		top = t
	}
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	rel, err := filepath.Rel(top, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "a directory outside the repository"
	}
	rel = filepath.ToSlash(rel)
	if i := strings.LastIndex(rel, "/.benchdata-"); i >= 0 {
		rel = rel[:i] + "/.benchdata-*"
	} else if strings.HasPrefix(rel, ".benchdata-") {
		rel = ".benchdata-*"
	}
	return rel
}

// versions lists the modules of the contenders as this binary was built
// with them.
func versions() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var vs []string
	for _, d := range bi.Deps {
		switch d.Path {
		case "github.com/google/renameio/v2", "github.com/natefinch/atomic", "github.com/tidwall/wal",
			"modernc.org/sqlite", "go.etcd.io/bbolt":
			v := d.Version
			if d.Replace != nil {
				v += " => " + d.Replace.Path + " " + d.Replace.Version
			}
			vs = append(vs, d.Path+" "+v)
		}
	}
	return strings.Join(vs, ", ")
}
