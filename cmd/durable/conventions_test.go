package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
)

func TestDidYouMean(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"wirte", "f"}, "did you mean write?"},
		{[]string{"qeue"}, "did you mean queue?"},
		{[]string{"queue", "pp", "q"}, "did you mean pop?"},
		{[]string{"log", "apend", "d"}, "did you mean append?"},
		{[]string{"jsonl", "repari", "f"}, "did you mean repair?"},
	} {
		r := runBinary(t, testdir.New(t), nil, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("durable %v: want exit 2 and %q\n%v", tc.args, tc.want, r)
		}
	}
	if r := runBinary(t, "", nil, "frobnicate"); r.code != exitUsage || strings.Contains(r.stderr, "did you mean") {
		t.Errorf("durable frobnicate suggests something: %v", r)
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := runBinary(t, "", nil, "completion", shell)
		if r.code != exitOK || !strings.Contains(r.stdout, "durable") {
			t.Fatalf("completion %s: %v", shell, r)
		}
		for _, want := range []string{"write", "queue", "pop", "append", "verify", "completion"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("completion %s does not know %q", shell, want)
			}
		}
		if strings.Contains(r.stdout, crashWriterName) {
			t.Errorf("completion %s offers the hidden verb", shell)
		}
	}
	if r := runBinary(t, "", nil, "completion", "tcsh"); r.code != exitUsage {
		t.Errorf("completion tcsh: %v", r)
	}
	bash, err := exec.LookPath("bash")
	if err != nil || runtime.GOOS == "windows" {
		t.Skip("no bash to run the bash script in")
	}
	script := runBinary(t, "", nil, "completion", "bash").stdout
	out, err := exec.Command(bash, "-c", script+`
COMP_WORDS=(durable wr); COMP_CWORD=1; _durable; echo "${COMPREPLY[@]}"
COMP_WORDS=(durable queue p); COMP_CWORD=2; _durable; echo "${COMPREPLY[@]}"`).CombinedOutput()
	if err != nil || string(out) != "write\npop push\n" {
		t.Errorf("bash completion: %v\n%s", err, out)
	}
}

// TestVersionFromBuildInfo: the binary reports the module version the go
// command recorded in it.
func TestVersionFromBuildInfo(t *testing.T) {
	r := runBinary(t, "", nil, "version", "--json")
	var v struct {
		Version string `json:"version"`
		Go      string `json:"go"`
	}
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &v) != nil || v.Go != runtime.Version() {
		t.Fatalf("version --json: %v", r)
	}
	out, err := exec.Command("go", "version", "-m", durableBinary(t)).Output()
	if err != nil {
		t.Fatal(err)
	}
	var mod string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" {
			mod = f[2]
		}
	}
	if mod == "(devel)" {
		if !strings.HasPrefix(v.Version, "devel") {
			t.Errorf("a devel build says version %q", v.Version)
		}
	} else if v.Version != mod {
		t.Errorf("version %q, build info says %q", v.Version, mod)
	}
}

// TestContextErrorsExplained: no message says "context canceled" or
// "context deadline exceeded"; it says what happened, and errors.Is still
// sees the cause.
func TestContextErrorsExplained(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("terminated signal received"))
	var stderr strings.Builder
	c := &cli{ctx: ctx, stderr: &stderr}
	err := fmt.Errorf("queue pop q: %w", context.Canceled)
	c.fail(err, false)
	if got := stderr.String(); strings.Contains(got, "context canceled") || !strings.Contains(got, "interrupted (terminated signal received)") {
		t.Errorf("cancelled: %q", got)
	}
	if !errors.Is(c.explainContext(err), context.Canceled) {
		t.Error("the reworded error no longer wraps context.Canceled")
	}
	stderr.Reset()
	c.ctx = context.Background()
	c.fail(fmt.Errorf("lock x: %w", context.DeadlineExceeded), false)
	if got := stderr.String(); strings.Contains(got, "deadline exceeded") || !strings.Contains(got, "timed out") {
		t.Errorf("deadline: %q", got)
	}
}
