package testdir

import (
	"os"
	"os/exec"
	"strings"
)

// Command returns a command that runs this test binary again as a child
// process: only the test named test (none when test is "", for a child
// that TestMain runs), once, with env ("KEY=value") added to this
// process's environment. The child tells itself apart by that environment.
//
// Under -race the child's runtime would otherwise sleep a second at exit
// before reporting; GORACE's atexit_sleep_ms=0 is added to whatever GORACE
// says.
func Command(test string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], Args(test)...)
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), "GORACE="+gorace)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// Args are the flags that make this test binary run only the test named
// test (none when test is ""), once: for a child started through another
// helper that takes the binary and its arguments (crashtest.Command).
func Args(test string) []string {
	run := "-test.run=^$"
	if test != "" {
		run = "-test.run=^" + test + "$"
	}
	return []string{run, "-test.count=1"}
}
