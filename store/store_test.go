package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/internal/testdir"
)

type Config struct {
	Name    string            `json:"name"`
	Port    int               `json:"port,omitempty"`
	Tags    []string          `json:"tags,omitempty"`
	Servers map[string]Server `json:"servers,omitempty"`
}

type Server struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

var ctx = context.Background()

func open[T any](t *testing.T, path string, o *store.Options[T]) *store.Store[T] {
	t.Helper()
	s, err := store.Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readString(t *testing.T, fsys vfs.FS, name string) string {
	t.Helper()
	return crashtest.Content(t, fsys, name)
}

func TestMissingFileIsDefaultNotError(t *testing.T) {
	path := filepath.Join(testdir.New(t), "sub", "config.json")
	s := open(t, path, &store.Options[Config]{Default: func() Config { return Config{Name: "default", Port: 80} }})
	c, rev, err := s.Get()
	if err != nil || c.Name != "default" || rev != (durable.Rev{}) {
		t.Fatalf("Get of a missing file: %+v %v %v", c, rev, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("Get created the file")
	}
	rev, err = s.Update(ctx, func(c *Config) error { c.Port++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "{\n  \"name\": \"default\",\n  \"port\": 81\n}\n" {
		t.Fatalf("file:\n%s", b)
	}
	if rev != durable.RevOf(b) {
		t.Fatalf("rev %v is not the file's version %v", rev, durable.RevOf(b))
	}
	fi, _ := os.Stat(path)
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600&^umask() {
		t.Errorf("new file mode %v", fi.Mode())
	}
}

func umask() fs.FileMode {
	dir, _ := os.MkdirTemp("", "umask")
	defer os.RemoveAll(dir)
	f, _ := os.OpenFile(filepath.Join(dir, "f"), os.O_CREATE|os.O_WRONLY, 0o777)
	fi, _ := f.Stat()
	f.Close()
	return 0o777 &^ fi.Mode().Perm()
}

func TestUpdateNoChangeErrorsAndPanics(t *testing.T) {
	m := vfs.NewMem()
	s := open(t, "/c.json", &store.Options[Config]{FS: m})
	s.Update(ctx, func(c *Config) error { c.Name = "one"; c.Servers = map[string]Server{"a": {"h", 1}}; return nil })
	before := readString(t, m, "/c.json")
	for _, sentinel := range []error{store.ErrNoChange, durable.ErrNoChange, fmt.Errorf("wrapped: %w", store.ErrNoChange)} {
		rev, err := s.Update(ctx, func(c *Config) error {
			c.Name = "changed but not kept"
			c.Servers["b"] = Server{}
			return sentinel
		})
		if err != nil || rev != durable.RevOf([]byte(before)) {
			t.Fatalf("%v: rev %v err %v", sentinel, rev, err)
		}
	}
	boom := errors.New("refused")
	if _, err := s.Update(ctx, func(c *Config) error { c.Port = 9; delete(c.Servers, "a"); return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the fn's error", err)
	}
	func() {
		defer func() {
			if p := recover(); p != "bang" {
				t.Fatalf("recovered %v, want the fn's panic", p)
			}
		}()
		s.Update(ctx, func(c *Config) error { c.Tags = []string{"x"}; panic("bang") })
	}()
	if got := readString(t, m, "/c.json"); got != before {
		t.Fatalf("a refused update changed the file:\n%s", got)
	}
	// The next update sees none of the undone changes.
	s.Update(ctx, func(c *Config) error {
		if c.Name != "one" || c.Port != 0 || len(c.Tags) != 0 || len(c.Servers) != 1 {
			t.Errorf("undone changes leaked: %+v", *c)
		}
		c.Port = 1
		return nil
	})
}

func TestValidateAndDecodeBack(t *testing.T) {
	m := vfs.NewMem()
	s := open(t, "/c.json", &store.Options[Config]{FS: m, Validate: func(c Config) error {
		if c.Port < 0 {
			return errors.New("negative port")
		}
		return nil
	}})
	s.Update(ctx, func(c *Config) error { c.Port = 1; return nil })
	before := readString(t, m, "/c.json")
	_, err := s.Update(ctx, func(c *Config) error { c.Port = -1; return nil })
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "negative port") {
		t.Fatalf("err = %v", err)
	}
	// A value that does not encode (NaN) or does not decode back.
	f := open(t, "/f.json", &store.Options[map[string]any]{FS: m})
	_, err = f.Update(ctx, func(d *map[string]any) error { *d = map[string]any{"x": nanValue()}; return nil })
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("NaN: err = %v", err)
	}
	b := open(t, "/b.json", &store.Options[badRoundTrip]{FS: m})
	_, err = b.Update(ctx, func(d *badRoundTrip) error { d.V = 1; return nil })
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "decode back") {
		t.Fatalf("undecodable: err = %v", err)
	}
	if got := readString(t, m, "/c.json"); got != before {
		t.Fatal("an invalid update reached the disk")
	}
	if got := readString(t, m, "/b.json"); got != "<absent>" {
		t.Fatalf("an undecodable document reached the disk: %s", got)
	}
}

func nanValue() float64 { var z float64; return z / z }

// badRoundTrip encodes to something its own decoder refuses.
type badRoundTrip struct{ V int }

func (b badRoundTrip) MarshalJSON() ([]byte, error) { return []byte(`"v"`), nil }
func (b *badRoundTrip) UnmarshalJSON(d []byte) error {
	if string(d) == `"v"` {
		return errors.New("cannot read v")
	}
	return nil
}

func TestReplaceConflict(t *testing.T) {
	m := vfs.NewMem()
	s := open(t, "/c.json", &store.Options[Config]{FS: m})
	if _, err := s.Replace(ctx, Config{Name: "first"}, durable.Rev{}); err != nil {
		t.Fatalf("create-if-absent: %v", err)
	}
	if _, err := s.Replace(ctx, Config{Name: "again"}, durable.Rev{}); !errors.Is(err, store.ErrConflict) || !errors.Is(err, durable.ErrConflict) {
		t.Fatalf("second create-if-absent: %v", err)
	}
	c, rev, _ := s.Get()
	other := open(t, "/c.json", &store.Options[Config]{FS: m})
	other.Update(ctx, func(c *Config) error { c.Port = 2; return nil })
	c.Name = "mine"
	if _, err := s.Replace(ctx, c, rev); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale Replace: %v", err)
	}
	c, rev, _ = s.Get()
	c.Name = "mine"
	newRev, err := s.Replace(ctx, c, rev)
	if err != nil {
		t.Fatal(err)
	}
	if got, r, _ := s.Get(); got.Name != "mine" || got.Port != 2 || r != newRev {
		t.Fatalf("after Replace: %+v %v", got, r)
	}
	// The caller's maps are not shared with the store.
	c.Servers = map[string]Server{"a": {}}
	_, rev, _ = s.Get()
	s.Replace(ctx, c, rev)
	c.Servers["b"] = Server{}
	s.Update(ctx, func(d *Config) error {
		if len(d.Servers) != 1 {
			t.Errorf("the store shares the caller's map: %v", d.Servers)
		}
		return store.ErrNoChange
	})
}

func TestUnknownFieldsKept(t *testing.T) {
	m := vfs.NewMem()
	vfs.WriteFile(m, "/c.json", []byte(`{
		"added_in_v2": {"x": [1, 2]},
		"name": "n",
		"NAME": "folded into name?",
		"servers": {"a": {"host": "h", "port": 1, "weight": 5}},
		"z_last": null
	}`), 0o644)
	s := open(t, "/c.json", &store.Options[Config]{FS: m})
	s.Update(ctx, func(c *Config) error { c.Port = 7; return nil })
	want := `{
  "name": "folded into name?",
  "port": 7,
  "servers": {
    "a": {
      "host": "h",
      "port": 1
    }
  },
  "added_in_v2": {
    "x": [
      1,
      2
    ]
  },
  "z_last": null
}
`
	// NAME matches the field name case-insensitively, as encoding/json
	// does, so it is T's; "weight" inside a known struct is dropped (the
	// documented limit).
	if got := readString(t, m, "/c.json"); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestFormatOptions(t *testing.T) {
	m := vfs.NewMem()
	s := open(t, "/c.json", &store.Options[Config]{FS: m, Compact: true})
	s.Update(ctx, func(c *Config) error { c.Name = "<x>"; c.Tags = []string{"a"}; return nil })
	if got := readString(t, m, "/c.json"); got != `{"name":"<x>","tags":["a"]}`+"\n" {
		t.Fatalf("compact: %q", got)
	}
	s = open(t, "/t.json", &store.Options[Config]{FS: m, Indent: "\t"})
	s.Update(ctx, func(c *Config) error { c.Tags = []string{"a"}; return nil })
	if got := readString(t, m, "/t.json"); got != "{\n\t\"name\": \"\",\n\t\"tags\": [\n\t\t\"a\"\n\t]\n}\n" {
		t.Fatalf("tabs: %q", got)
	}
}

func TestCoalescing(t *testing.T) {
	path := filepath.Join(testdir.New(t), "c.json")
	s := open(t, path, &store.Options[Config]{})
	s.Update(ctx, func(c *Config) error { c.Name = ""; c.Tags = []string{"first"}; return nil })
	const n = 64
	var calls atomic.Int32
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	revs := make([]durable.Rev, n)
	for i := range n {
		wg.Go(func() {
			rev, err := s.Update(ctx, func(c *Config) error {
				calls.Add(1)
				mu.Lock()
				order = append(order, c.Port) // each fn sees the one before it
				mu.Unlock()
				c.Port++
				if i%10 == 3 {
					c.Name = "failed"
					return errors.New("no")
				}
				return nil
			})
			if (err != nil) != (i%10 == 3) {
				t.Errorf("update %d: %v", i, err)
			}
			revs[i] = rev
		})
	}
	wg.Wait()
	c, _, _ := s.Get()
	fails := 0
	for i := range n {
		if i%10 == 3 {
			fails++
		}
	}
	if c.Port != n-fails || c.Name != "" || calls.Load() != n || len(c.Tags) != 1 {
		t.Fatalf("port %d (want %d), name %q, %d calls for %d updates", c.Port, n-fails, c.Name, calls.Load(), n)
	}
	distinct := map[durable.Rev]bool{}
	for i, r := range revs {
		if i%10 != 3 {
			distinct[r] = true
		}
	}
	if len(distinct) >= n-fails {
		t.Logf("no two updates shared a write (%d revisions): the machine ran them one by one", len(distinct))
	} else {
		t.Logf("%d updates in %d writes", n-fails, len(distinct))
	}
	if b, _ := os.ReadFile(path + ".bak.1"); len(b) == 0 {
		t.Fatal("no backup")
	}
}

func TestChangedAndWatch(t *testing.T) {
	path := filepath.Join(testdir.New(t), "c.json")
	s := open(t, path, &store.Options[Config]{PollInterval: 10 * time.Millisecond})
	if s.Changed() {
		t.Fatal("Changed right after Open of a missing file")
	}
	other := open(t, path, &store.Options[Config]{})
	other.Update(ctx, func(c *Config) error { c.Port = 1; return nil })
	if !s.Changed() {
		t.Fatal("Changed missed a write by another Store")
	}
	s.Get()
	if s.Changed() {
		t.Fatal("Changed after Get with no write")
	}
	wctx, cancel := context.WithCancel(ctx)
	ch := s.Watch(wctx)
	time.Sleep(30 * time.Millisecond)
	rev, _ := other.Update(ctx, func(c *Config) error { c.Port = 2; return nil })
	select {
	case got := <-ch:
		if got != rev {
			t.Fatalf("Watch sent %v, want %v", got, rev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not report a write")
	}
	cancel()
	for range ch {
	}
}

func TestSecret(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	dir := filepath.Join(testdir.New(t), "app")
	path := filepath.Join(dir, "creds.json")
	s := open(t, path, &store.Options[Config]{Secret: true})
	s.Update(ctx, func(c *Config) error { c.Name = "token"; return nil })
	s.Update(ctx, func(c *Config) error { c.Name = "token2"; return nil })
	for _, p := range []string{path, path + ".bak.1"} {
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", p, fi.Mode())
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", fi.Mode())
	}
	if _, err := store.Open(path, &store.Options[Config]{Secret: true, Perm: 0o644}); err == nil {
		t.Error("a secret store accepted mode 0644")
	}
	os.Chmod(path, 0o640)
	s2, err := store.Open(path, &store.Options[Config]{Secret: true})
	if err != nil || s2 == nil {
		t.Fatalf("Open of a 0640 secret fails: %v", err)
	}
	c, _, err := s2.Get()
	if err != nil || c.Name != "token2" {
		t.Fatalf("Get of a 0640 secret: %+v %v", c, err)
	}
	// Open's and Get's findings wait in Warnings, the same one kept once.
	warns, _ := s2.Warnings()
	var ie *store.InsecureError
	if len(warns) != 1 || !errors.Is(warns[0], store.ErrInsecure) || !errors.As(warns[0], &ie) || ie.Mode.Perm() != 0o640 {
		t.Fatalf("Warnings of a 0640 secret: %v", warns)
	}
	// OnInsecure takes them instead.
	var told []*store.InsecureError
	s3, err := store.Open(path, &store.Options[Config]{Secret: true, OnInsecure: func(e *store.InsecureError) { told = append(told, e) }})
	if err != nil || len(told) != 1 || told[0].Path != path {
		t.Fatalf("OnInsecure: %v, told %v", err, told)
	}
	if w, _ := s3.Warnings(); len(w) != 0 {
		t.Fatalf("Warnings with OnInsecure: %v", w)
	}
	// Never widened, never narrowed behind the user's back.
	s2.Update(ctx, func(c *Config) error { c.Name = "t3"; return nil })
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode changed to %v", fi.Mode())
	}
}

func TestPaths(t *testing.T) {
	home := testdir.New(t)
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("XDG_STATE_HOME", "")
	if runtime.GOOS == "linux" {
		p, err := store.ConfigPath("app", "config.json")
		if err != nil || p != filepath.Join(home, ".config", "app", "config.json") {
			t.Fatalf("ConfigPath: %q %v", p, err)
		}
		p, _ = store.StatePath("app", "s/state.json")
		if p != filepath.Join(home, ".local", "state", "app", "s", "state.json") {
			t.Fatalf("StatePath: %q", p)
		}
		t.Setenv("XDG_CONFIG_HOME", "/xdg/config")
		t.Setenv("XDG_STATE_HOME", "relative/ignored")
		if p, _ := store.ConfigPath("app", "c"); p != "/xdg/config/app/c" {
			t.Fatalf("XDG_CONFIG_HOME: %q", p)
		}
		if p, _ := store.StatePath("app", "c"); p != filepath.Join(home, ".local", "state", "app", "c") {
			t.Fatalf("relative XDG_STATE_HOME must be ignored: %q", p)
		}
	}
	if runtime.GOOS == "darwin" {
		if p, _ := store.ConfigPath("app", "c", store.XDG()); p != filepath.Join(home, ".config", "app", "c") {
			t.Fatalf("XDG on macOS: %q", p)
		}
	}
	for _, bad := range [][2]string{{"", "f"}, {"a/b", "f"}, {"..", "f"}, {"app", "../x"}, {"app", "/abs"}, {"app", ""}} {
		if _, err := store.ConfigPath(bad[0], bad[1]); err == nil {
			t.Errorf("ConfigPath(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestSymlinkedDocument(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges")
	}
	dir := testdir.New(t)
	real := filepath.Join(dir, "real", "c.json")
	os.MkdirAll(filepath.Dir(real), 0o755)
	os.WriteFile(real, []byte(`{"name":"r"}`), 0o644)
	link := filepath.Join(dir, "link.json")
	os.Symlink(real, link)
	s := open(t, link, &store.Options[Config]{})
	s.Update(ctx, func(c *Config) error { c.Port = 1; return nil })
	if fi, _ := os.Lstat(link); fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced")
	}
	if _, err := os.Stat(real + ".bak.1"); err != nil {
		t.Fatalf("the backup is not beside the real file: %v", err)
	}
}

func TestSchemaKeyClash(t *testing.T) {
	type withSchema struct {
		Schema int `json:"schema"`
	}
	if _, err := store.Open(filepath.Join(testdir.New(t), "x"), &store.Options[withSchema]{Schema: 1}); err == nil {
		t.Fatal("a T with its own schema field was accepted")
	}
	if _, err := store.Open(filepath.Join(testdir.New(t), "x"), &store.Options[map[string]int]{Schema: 1}); err == nil {
		t.Fatal("a map T with a schema version was accepted")
	}
}

func TestRevMatchesFile(t *testing.T) {
	m := vfs.NewMem()
	s := open(t, "/c.json", &store.Options[Config]{FS: m})
	rev, _ := s.Update(ctx, func(c *Config) error { c.Name = "x"; return nil })
	b, _ := vfs.ReadFile(m, "/c.json")
	_, getRev, _ := s.Get()
	if rev != durable.RevOf(b) || getRev != rev {
		t.Fatalf("revs: update %v get %v file %v", rev, getRev, durable.RevOf(b))
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
}
