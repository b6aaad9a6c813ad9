package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A probe runs one contender in a child process under strace and reads
// from the system calls whether it is durable. The child is this same
// program (or test binary), told by the environment what to run.
const (
	probeEnv    = "DURABLE_BENCH_PROBE"     // family/contender-id
	probeDirEnv = "DURABLE_BENCH_PROBE_DIR" // the contender's empty directory
	probeOpsEnv = "DURABLE_BENCH_PROBE_OPS" // operations to perform
	probeNoop   = "noop"                    // a child that does nothing: can strace run here?
)

// Evidence is what a probe showed.
type Evidence struct {
	Trace traceReport
	Skip  string // why nothing was measured (no strace), or ""
	Err   error  // the probe failed
}

// Measured reports whether the trace can be trusted.
func (e Evidence) Measured() bool { return e.Skip == "" && e.Err == nil }

// prober runs probes, once it has checked strace can trace here.
type prober struct {
	strace string
	skip   string
	exe    string
	root   string
	ops    int
}

func newProber(root string, ops int) *prober {
	p := &prober{root: root, ops: ops}
	var err error
	if p.strace, err = exec.LookPath("strace"); err != nil {
		p.skip = "strace is not installed (apt-get install strace)"
		return p
	}
	if p.exe, err = os.Executable(); err != nil {
		p.skip = "cannot find this program: " + err.Error()
		return p
	}
	// Tracing can be forbidden (a container without ptrace): find out
	// once, so that a failing probe later means a failing contender.
	cmd := exec.Command(p.strace, "-f", "-qq", "-o", os.DevNull, "--", p.exe)
	cmd.Env = append(os.Environ(), probeEnv+"="+probeNoop)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.skip = fmt.Sprintf("strace cannot trace here: %v: %s", err, firstLine(out))
	}
	return p
}

// probe runs contender c of the family under strace.
func (p *prober) probe(family string, c Contender) Evidence {
	if p.skip != "" {
		return Evidence{Skip: p.skip}
	}
	base := filepath.Join(p.root, "probe", family)
	dir := filepath.Join(base, c.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Evidence{Err: err}
	}
	// Resolved, because strace prints resolved paths and the rules
	// compare them with the paths the libraries were given.
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return Evidence{Err: err}
	}
	log := filepath.Join(base, c.ID+".strace")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.strace, "-f", "-qq", "-y", "-o", log, "-e", "trace="+tracedCalls, "--", p.exe)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		probeEnv+"="+family+"/"+c.ID,
		probeDirEnv+"="+dir,
		probeOpsEnv+"="+strconv.Itoa(p.ops))
	if out, err := cmd.CombinedOutput(); err != nil {
		return Evidence{Err: fmt.Errorf("%v: %s", err, firstLine(out))}
	}
	f, err := os.Open(log)
	if err != nil {
		return Evidence{Err: err}
	}
	defer f.Close()
	evs, err := parseTrace(f)
	if err != nil {
		return Evidence{Err: err}
	}
	r := analyze(evs, statDir)
	if r.Ops != p.ops {
		return Evidence{Err: fmt.Errorf("the trace shows %d operations, the probe ran %d", r.Ops, p.ops)}
	}
	return Evidence{Trace: r}
}

// probeChild is the child's side: open the contender named in the
// environment, perform the operations, each after a marker, and close it.
func probeChild(spec string) error {
	if spec == probeNoop {
		return nil
	}
	family, id, _ := strings.Cut(spec, "/")
	dir := os.Getenv(probeDirEnv)
	ops, err := strconv.Atoi(os.Getenv(probeOpsEnv))
	if err != nil {
		return fmt.Errorf("%s: %v", probeOpsEnv, err)
	}
	c, ok := probeContender(family, id)
	if !ok {
		return fmt.Errorf("no contender %s in the probed workload of %s", id, family)
	}
	inst, err := c.Open(dir, 1)
	if err != nil {
		return err
	}
	for i := 1; i <= ops; i++ {
		mark("op-" + strconv.Itoa(i))
		if err := inst.Op(0); err != nil {
			return err
		}
	}
	mark("end")
	return inst.Close()
}

// probeContender finds a contender in the workload that probes its family.
func probeContender(family, id string) (Contender, bool) {
	for _, w := range workloads(quickPlan) {
		if w.Family != family || !w.Probe {
			continue
		}
		for _, c := range w.Contenders {
			if c.ID == id {
				return c, true
			}
		}
	}
	return Contender{}, false
}

// mark leaves a marker in the trace: a mkdir named after it, which always
// fails (ENOTDIR); only the system call matters.
func mark(name string) {
	_ = os.Mkdir(markerPrefix+name, 0o755)
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}
