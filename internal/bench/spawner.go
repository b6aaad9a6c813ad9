package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// SpawnerEnv makes a process a spawner (see WorkerMain).
const SpawnerEnv = "DURABLE_BENCH_SPAWNER"

// A Spawner is a small helper process that starts the commands whose
// time and peak memory are measured. It exists because of how Linux
// counts a child's peak memory: Go starts a child with vfork, sharing the
// parent's memory until exec, and exec keeps the peak of that memory as
// the child's ru_maxrss. A child of a benchmark that has just filled a
// queue of a million messages would be charged for them. The spawner's own
// memory stays a few MiB, so its children's peaks are their own (at least
// the spawner's, which the floor rows show).
type Spawner struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr lockedBuffer
}

type spawnRequest struct {
	Args []string `json:"args"`
	Env  []string `json:"env,omitempty"` // added to the spawner's environment
}

type spawnReply struct {
	Elapsed time.Duration `json:"elapsed"`
	MaxRSS  int64         `json:"max_rss"`
	Err     string        `json:"err,omitempty"`
}

// StartSpawner starts exe (a program whose main calls WorkerMain) as a
// spawner.
func StartSpawner(exe string) (*Spawner, error) {
	s := &Spawner{cmd: exec.Command(exe)}
	s.cmd.Env = append(os.Environ(), SpawnerEnv+"=1")
	s.cmd.Stderr = &s.stderr
	var err error
	if s.in, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.out = bufio.NewScanner(out)
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// Run has the spawner run args (with env added to its environment) to
// the end, and returns the child's wall time and peak memory. A non-zero
// exit is an error carrying the child's stderr.
func (s *Spawner) Run(args []string, env ...string) (ProcessRun, error) {
	b, err := json.Marshal(spawnRequest{Args: args, Env: env})
	if err != nil {
		return ProcessRun{}, err
	}
	if _, err := fmt.Fprintf(s.in, "%s\n", b); err != nil {
		return ProcessRun{}, fmt.Errorf("spawner: %w: %s", err, s.stderr.String())
	}
	if !s.out.Scan() {
		return ProcessRun{}, fmt.Errorf("spawner ended: %v: %s", s.out.Err(), s.stderr.String())
	}
	var r spawnReply
	if err := json.Unmarshal(s.out.Bytes(), &r); err != nil {
		return ProcessRun{}, err
	}
	run := ProcessRun{Elapsed: r.Elapsed, MaxRSS: r.MaxRSS}
	if r.Err != "" {
		return run, errors.New(r.Err)
	}
	return run, nil
}

// Close ends the spawner.
func (s *Spawner) Close() error {
	s.in.Close()
	return s.cmd.Wait()
}

// serveSpawner is the spawner's side: one request per line, one reply
// per line.
func serveSpawner(in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		var req spawnRequest
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			return err
		}
		if len(req.Args) == 0 {
			return errors.New("spawner: empty command")
		}
		cmd := exec.Command(req.Args[0], req.Args[1:]...)
		cmd.Env = append(os.Environ(), req.Env...)
		r, err := RunProcess(cmd)
		rep := spawnReply{Elapsed: r.Elapsed, MaxRSS: r.MaxRSS}
		if err != nil {
			rep.Err = err.Error()
		}
		if err := enc.Encode(rep); err != nil {
			return err
		}
	}
	return sc.Err()
}
