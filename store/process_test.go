package store_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/store"

	"github.com/durable-go/durable/internal/testdir"
)

type counterDoc struct {
	Count   int            `json:"count"`
	Writers map[string]int `json:"writers"`
	Pad     string         `json:"pad"`
}

// The test binary, re-executed, is an updater or a reader.
func TestStoreHelperProcess(t *testing.T) {
	name := os.Getenv("STORE_TEST_FILE")
	if name == "" {
		t.Skip("helper process for TestProcessesLoseNothing")
	}
	switch os.Getenv("STORE_TEST_ROLE") {
	case "updater":
		n, _ := strconv.Atoi(os.Getenv("STORE_TEST_N"))
		id := strconv.Itoa(os.Getpid())
		s, err := store.Open(name, &store.Options[counterDoc]{})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		for range n {
			_, err := s.Update(ctx, func(d *counterDoc) error {
				d.Count++
				if d.Writers == nil {
					d.Writers = map[string]int{}
				}
				d.Writers[id]++
				d.Pad = strings.Repeat("x", 100+d.Count%700) // sizes vary, so a torn read would show
				return nil
			})
			if err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
		}
	case "reader":
		// Read the raw file until stdin closes; every version must parse.
		stop := make(chan struct{})
		go func() { bufio.NewReader(os.Stdin).ReadString('\n'); close(stop) }()
		reads, bad := 0, 0
		for {
			select {
			case <-stop:
				fmt.Printf("reads %d bad %d\n", reads, bad)
				return
			default:
			}
			// durable.ReadFile: on Windows a plain open would block the
			// writers' renames.
			b, err := durable.ReadFile(name)
			if errors.Is(err, fs.ErrNotExist) {
				time.Sleep(200 * time.Microsecond)
				continue
			}
			var d counterDoc
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err != nil || dec.Decode(&d) != nil || d.Count < 1 {
				bad++
				fmt.Printf("bad read: %v %.60q\n", err, b)
			}
			reads++
			time.Sleep(200 * time.Microsecond) // the machine has two cores
		}
	}
}

func TestProcessesLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 11 processes")
	}
	name := filepath.Join(testdir.New(t), "counter.json")
	procs, each := 8, 500
	if os.Getenv("CI") != "true" {
		each = 100
	}
	helper := func(role string, n int) *exec.Cmd {
		cmd := testdir.Command("TestStoreHelperProcess", "STORE_TEST_FILE="+name, "STORE_TEST_ROLE="+role, "STORE_TEST_N="+strconv.Itoa(n))
		return cmd
	}
	type reader struct {
		cmd   *exec.Cmd
		stdin interface{ Close() error }
		out   *strings.Builder
	}
	var readers []reader
	nreaders := 3
	if testdir.UnderWine() {
		// Wine 8 cannot rename over a file that readers hold open with
		// FILE_SHARE_DELETE (real Windows can): updaters only.
		nreaders = 0
	}
	for range nreaders {
		cmd := helper("reader", 0)
		in, _ := cmd.StdinPipe()
		out := &strings.Builder{}
		cmd.Stdout = out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		readers = append(readers, reader{cmd, in, out})
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range procs {
		wg.Go(func() {
			if out, err := helper("updater", each).CombinedOutput(); err != nil {
				t.Errorf("updater: %v\n%s", err, out)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	totalReads := 0
	for _, r := range readers {
		r.stdin.Close()
		if err := r.cmd.Wait(); err != nil {
			t.Errorf("reader: %v", err)
		}
		var reads, bad int
		var last string
		for _, l := range strings.Split(r.out.String(), "\n") {
			if strings.HasPrefix(l, "reads ") {
				last = l
			}
		}
		if _, err := fmt.Sscanf(last, "reads %d bad %d", &reads, &bad); err != nil {
			t.Fatalf("reader output: %q", r.out.String())
		}
		if bad != 0 {
			t.Errorf("a reader saw %d invalid versions:\n%s", bad, r.out.String())
		}
		totalReads += reads
	}
	s := open(t, name, &store.Options[counterDoc]{})
	d, _, err := s.Get()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for id, n := range d.Writers {
		sum += n
		if n != each {
			t.Errorf("writer %s landed %d updates, want %d", id, n, each)
		}
	}
	if d.Count != procs*each || sum != procs*each || len(d.Writers) != procs {
		t.Fatalf("count %d, writers %d summing to %d; want %d from %d writers", d.Count, len(d.Writers), sum, procs*each, procs)
	}
	if m, _ := filepath.Glob(name + ".corrupt.*"); len(m) != 0 {
		t.Fatalf("damaged versions were found: %v", m)
	}
	if totalReads == 0 && nreaders > 0 {
		t.Fatal("readers never read: the test checked nothing")
	}
	t.Logf("%d processes x %d updates = %d in %v; readers parsed %d versions, none invalid",
		procs, each, d.Count, elapsed.Round(time.Millisecond), totalReads)
}
