package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
)

// Two `durable write` invocations create files in the same new directory at
// once; neither process may acknowledge its file before it has itself seen
// the directory, and every parent on the path, fsynced: the other one may
// have made the directory and not synced it yet (or be killed before it
// does). strace records the fsyncs each process saw succeed. (A power cut
// cannot show this on ext4 or xfs: their journal commits the other
// process's mkdir along with this one's fsync.)
func TestWriteNewDirectoryTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI with the go command and starts processes")
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed")
	}
	root := testdir.New(t)
	bin := filepath.Join(root, "durable")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, err := exec.Command(strace, "-f", "-o", os.DevNull, "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here: %v\n%s", err, out)
	}
	dir := filepath.Join(root, "data", "new", "sub")
	var cmds []*exec.Cmd
	var logs []string
	for _, f := range []string{"a", "b"} {
		log := filepath.Join(root, f+".strace")
		cmd := exec.Command(strace, "-f", "-y", "-e", "trace=fsync,fdatasync", "-o", log,
			bin, "write", filepath.Join(dir, f))
		cmd.Stdin = strings.NewReader("content of " + f)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, logs = append(cmds, cmd), append(logs, log)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("durable write %d: %v", i, err)
		}
	}
	var want []string
	for d := dir; ; d = filepath.Dir(d) {
		want = append(want, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	synced := regexp.MustCompile(`f(?:data)?sync\(\d+<([^>]*)>\)\s+= 0`)
	unfinished := regexp.MustCompile(`^(\d+)\s+f(?:data)?sync\(\d+<([^>]*)> <unfinished`)
	resumed := regexp.MustCompile(`^(\d+)\s+<\.\.\. f(?:data)?sync resumed>\)\s+= 0`)
	for i, log := range logs {
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, m := range synced.FindAllStringSubmatch(string(b), -1) {
			seen[m[1]] = true
		}
		// A call a signal interrupted in the trace is split in two lines:
		// "PID fsync(N<path> <unfinished ...>" and, later for the same
		// PID, "<... fsync resumed>) = 0".
		pending := map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			if m := unfinished.FindStringSubmatch(line); m != nil {
				pending[m[1]] = m[2]
			} else if m := resumed.FindStringSubmatch(line); m != nil {
				if path, ok := pending[m[1]]; ok {
					seen[path] = true
					delete(pending, m[1])
				}
			}
		}
		for _, d := range want {
			if !seen[d] {
				t.Errorf("durable write %d exited 0 without fsyncing %s: the new file could vanish with the path in a power cut\n%s", i, d, b)
			}
		}
	}
}
