package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
)

// startServing runs a serving verb until the test ends and returns the
// URL it printed.
func startServing(t *testing.T, v verb, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs syncBuffer
	c := &cli{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: &errs, verb: v}
	done := make(chan int, 1)
	go func() { done <- v.run(c, args) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("%s %v: exit %d: %s", v.name, args, code, errs.String())
		}
	})
	re := regexp.MustCompile(`http://\S+`)
	for range 500 {
		if u := re.FindString(out.String()); u != "" {
			return u
		}
		select {
		case code := <-done:
			t.Fatalf("%s %v: exit %d: %s", v.name, args, code, errs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("%s %v never said where it listens", v.name, args)
	return ""
}

func TestWitnessCLI(t *testing.T) {
	tmp := testdir.New(t)
	dir, key := auditLogKey(t, tmp)
	var pubs []string
	for _, w := range []string{"w1", "w2"} {
		wk := filepath.Join(tmp, w)
		if r := runVerb(t, witnessVerb(), nil, "keygen", "--name", w+".example", wk); r.code != exitOK {
			t.Fatalf("witness keygen: %v", r)
		}
		url := startServing(t, witnessVerb(), "serve", "--key", wk+".key", "--log", key+".pub", "--addr", "127.0.0.1:0", filepath.Join(tmp, w+"-state"))
		if r := runLogCLI(t, nil, "witness", "add", w, url, wk+".pub", dir); r.code != exitOK {
			t.Fatalf("witness add: %v", r)
		}
		pubs = append(pubs, "--witness", wk+".pub")
	}
	if r := runLogCLI(t, nil, "witness", "add", "bad", "ftp://x", pubs[1], dir); r.code != exitUsage {
		t.Fatalf("witness add with a bad URL: %v", r)
	}
	if r := runLogCLI(t, nil, "append", "--key", key+".key", dir, "a", "b", "c"); r.code != exitOK {
		t.Fatalf("append --key: %v", r)
	}
	r := runLogCLI(t, nil, append(append([]string{"verify", "--pub", key + ".pub"}, pubs...), dir)...)
	if r.code != exitOK || !strings.Contains(r.stdout, "cosigned by w1.example, w2.example") {
		t.Fatalf("verify --witness: %v", r)
	}
	if r := runLogCLI(t, nil, append(append([]string{"verify", "--quorum", "3"}, pubs...), dir)...); r.code != exitUsage {
		t.Fatalf("verify --quorum 3 of 2: %v", r)
	}
	if r := runLogCLI(t, nil, "witness", "list", dir); r.code != exitOK || strings.Count(r.stdout, "cosigned:3") != 2 {
		t.Fatalf("witness list: %v", r)
	}
	// A witness that is removed no longer cosigns; verify requiring it
	// then fails as tampered (not witnessed), and a quorum of 1 passes.
	if r := runLogCLI(t, nil, "witness", "remove", "w2", dir); r.code != exitOK {
		t.Fatalf("witness remove: %v", r)
	}
	if r := runLogCLI(t, nil, "checkpoint", "--key", key+".key", dir); r.code != exitOK {
		t.Fatalf("checkpoint: %v", r)
	}
	if r := runLogCLI(t, nil, append(append([]string{"verify", "--pub", key + ".pub"}, pubs...), dir)...); r.code != exitTampered {
		t.Fatalf("verify with a witness that did not cosign: %v", r)
	}
	if r := runLogCLI(t, nil, append(append([]string{"verify", "--quorum", "1", "--pub", key + ".pub"}, pubs...), dir)...); r.code != exitOK {
		t.Fatalf("verify --quorum 1: %v", r)
	}

	// log serve: exactly the stored checkpoint.
	url := startServing(t, logVerb(), "serve", "--addr", "127.0.0.1:0", dir)
	resp, err := http.Get(url + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, _ := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if string(got) != string(want) || !strings.Contains(string(got), "— w1.example ") {
		t.Fatalf("served checkpoint %q, stored %q", got, want)
	}
	big := strings.Repeat("x", 70000)
	if r := runLogCLI(t, nil, "append", "--tiles", dir, "ok", big); r.code != exitUsage || !strings.Contains(r.stderr, "65511") {
		t.Fatalf("append --tiles of an oversized record: %v", r)
	}
}
