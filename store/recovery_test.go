package store_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"
)

// corruptions are the ways a file is damaged: by a program that does not
// write atomically, a crash of one, a bad hand edit, a broken disk.
var corruptions = []struct {
	name string
	bad  func(good string) string
}{
	{"truncated", func(g string) string { return g[:len(g)/2] }},
	{"truncated to one byte", func(g string) string { return g[:1] }},
	{"empty", func(string) string { return "" }},
	{"whitespace only", func(string) string { return " \n\t\n" }},
	{"zero-filled", func(g string) string { return strings.Repeat("\x00", len(g)) }},
	{"zero tail", func(g string) string { return g[:len(g)/3] + strings.Repeat("\x00", len(g)-len(g)/3) }},
	{"invalid UTF-8 in a string", func(g string) string { return strings.Replace(g, "v3", "v\xff3", 1) }},
	{"invalid UTF-8 outside strings", func(g string) string { return "\xfe" + g }},
	{"wrong type: array", func(string) string { return `[1, 2, 3]` }},
	{"wrong type: string", func(string) string { return `"config"` }},
	{"wrong type: null", func(string) string { return `null` }},
	{"wrong field type", func(string) string { return `{"name": "v9", "port": "eighty"}` }},
	{"trailing garbage", func(g string) string { return g + "}" }},
	{"two documents", func(g string) string { return g + g }},
	{"bad hand edit", func(g string) string { return strings.Replace(g, `"port": 3`, `"port": 3,`, 1) }},
}

// threeVersions writes v1, v2, v3 with two backups kept.
func threeVersions(t *testing.T, m vfs.FS, name string) string {
	t.Helper()
	s := open(t, name, &store.Options[Config]{FS: m, Backups: 2})
	for i := 1; i <= 3; i++ {
		if _, err := s.Update(ctx, func(c *Config) error { c.Name = "v" + string(rune('0'+i)); c.Port = i; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return readString(t, m, name)
}

func corruptFiles(t *testing.T, m vfs.FS, name string) map[string]string {
	t.Helper()
	ents, _ := m.ReadDir(path.Dir(name))
	out := map[string]string{}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), path.Base(name)+".corrupt.") {
			out[e.Name()] = readString(t, m, path.Dir(name)+"/"+e.Name())
		}
	}
	return out
}

func TestRecoverEveryCorruption(t *testing.T) {
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			m := vfs.NewMem()
			const name = "/app/config.json"
			good := threeVersions(t, m, name)
			v2 := readString(t, m, name+".bak.1")
			bad := c.bad(good)
			vfs.WriteFile(m, name, []byte(bad), 0o644)

			s, err := store.Open(name, &store.Options[Config]{FS: m, Backups: 2})
			if err != nil || s == nil {
				t.Fatalf("Open: a recovery is not a failure, err = %v", err)
			}
			warns, dropped := s.Warnings()
			var rec *store.RecoveredError
			if len(warns) != 1 || dropped != 0 || !errors.Is(warns[0], store.ErrCorrupt) || !errors.As(warns[0], &rec) {
				t.Fatalf("Warnings = %v, %d; want one RecoveredError", warns, dropped)
			}
			if filepath.Base(rec.Backup) != "config.json.bak.1" || rec.MovedTo == "" || !strings.Contains(rec.Error(), rec.MovedTo) {
				t.Fatalf("recovery report: %+v", rec)
			}
			if again, _ := s.Warnings(); len(again) != 0 {
				t.Fatalf("Warnings kept what it returned: %v", again)
			}
			got, _, err := s.Get()
			if err != nil || got.Name != "v2" {
				t.Fatalf("after recovery Get = %+v, %v; want v2 (the newest good version)", got, err)
			}
			if now := readString(t, m, name); now != v2 {
				t.Fatalf("the good version was not put back:\n%s", now)
			}
			kept := corruptFiles(t, m, name)
			if len(kept) != 1 {
				t.Fatalf("damaged copies: %v", kept)
			}
			for _, k := range kept {
				if k != bad {
					t.Fatalf("the damaged file was not kept as it was: %q", k)
				}
			}
			// Backups still hold good versions only.
			if b := readString(t, m, name+".bak.1"); b != v2 {
				t.Fatalf("bak.1 = %s", b)
			}
		})
	}
}

func TestRecoverSkipsBadBackups(t *testing.T) {
	m := vfs.NewMem()
	const name = "/c.json"
	threeVersions(t, m, name)
	vfs.WriteFile(m, name, []byte("{"), 0o644)
	vfs.WriteFile(m, name+".bak.1", []byte("\x00"), 0o644)
	var told []*store.RecoveredError
	s, err := store.Open(name, &store.Options[Config]{FS: m, Backups: 2, OnRecover: func(r *store.RecoveredError) { told = append(told, r) }})
	if err != nil {
		t.Fatalf("with OnRecover, Open returns no error: %v", err)
	}
	if len(told) != 1 || filepath.Base(told[0].Backup) != "c.json.bak.2" {
		t.Fatalf("OnRecover calls: %+v", told)
	}
	if c, _, _ := s.Get(); c.Name != "v1" {
		t.Fatalf("Get = %+v, want v1 from bak.2", c)
	}
}

func TestUpdateOnCorruptFile(t *testing.T) {
	m := vfs.NewMem()
	const name = "/c.json"
	threeVersions(t, m, name)
	s := open(t, name, &store.Options[Config]{FS: m, Backups: 2})
	vfs.WriteFile(m, name, []byte(`{"name": "torn`), 0o644)
	ran := false
	_, err := s.Update(ctx, func(c *Config) error { ran = true; c.Port = 100; return nil })
	if !errors.Is(err, store.ErrCorrupt) || ran {
		t.Fatalf("Update on a corrupt file: ran=%v err=%v; want the recovery reported and fn not run", ran, err)
	}
	if c, _, _ := s.Get(); c.Name != "v2" {
		t.Fatalf("not recovered: %+v", c)
	}
	if _, err := s.Update(ctx, func(c *Config) error { c.Port = 100; return nil }); err != nil {
		t.Fatalf("retry: %v", err)
	}
	// With OnRecover, the update applies on top of the recovered version.
	vfs.WriteFile(m, name, []byte(`[]`), 0o644)
	called := 0
	s2 := open(t, "/c.json", &store.Options[Config]{FS: m, Backups: 2, OnRecover: func(*store.RecoveredError) { called++ }})
	if _, err := s2.Update(ctx, func(c *Config) error { c.Tags = []string{"after"}; return nil }); err != nil || called != 1 {
		t.Fatalf("Update with OnRecover: %v, called %d", err, called)
	}
	// The newest good version was bak.1 (port 2): the damaged file held
	// port 100, which is in the .corrupt copy.
	if c, _, _ := s2.Get(); c.Port != 2 || len(c.Tags) != 1 {
		t.Fatalf("%+v", c)
	}
}

func TestCorruptWithoutBackupIsLeftAlone(t *testing.T) {
	const bad = "{\"name\": \x00"
	for _, backups := range []int{-1, 1} {
		m := vfs.NewMem()
		vfs.WriteFile(m, "/c.json", []byte(`{}`), 0o644)
		st := open(t, "/c.json", &store.Options[Config]{FS: m, Backups: backups})
		vfs.WriteFile(m, "/c.json", []byte(bad), 0o644)
		_, err := store.Open("/c.json", &store.Options[Config]{FS: m, Backups: backups})
		var ce *store.CorruptError
		if !errors.Is(err, store.ErrCorrupt) || !errors.As(err, &ce) {
			t.Fatalf("backups %d: Open = %v, want a CorruptError", backups, err)
		}
		if _, _, err := st.Get(); !errors.As(err, &ce) {
			t.Fatalf("Get = %v", err)
		}
		// Update refuses too: it would otherwise write over it.
		if _, err := st.Update(ctx, func(c *Config) error { c.Name = "default"; return nil }); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Update over a corrupt file without backup: %v", err)
		}
		if got := readString(t, m, "/c.json"); got != bad {
			t.Fatalf("the corrupt file was changed: %q", got)
		}
		if len(corruptFiles(t, m, "/c.json")) != 0 {
			t.Fatal("a damaged copy was made although nothing was replaced")
		}
	}
}

// readOnly refuses every change, as a read-only mount or a directory the
// user may not write would.
type readOnly struct{ vfs.FS }

func (r readOnly) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE) != 0 {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EROFS}
	}
	return r.FS.OpenFile(name, flag, perm)
}
func (r readOnly) Rename(o, n string) error {
	return &os.LinkError{Op: "rename", Old: o, New: n, Err: syscall.EROFS}
}
func (r readOnly) Link(o, n string) error {
	return &os.LinkError{Op: "link", Old: o, New: n, Err: syscall.EROFS}
}
func (r readOnly) Mkdir(n string, p fs.FileMode) error {
	return &fs.PathError{Op: "mkdir", Path: n, Err: syscall.EROFS}
}
func (r readOnly) Remove(n string) error {
	return &fs.PathError{Op: "remove", Path: n, Err: syscall.EROFS}
}

func TestRecoverOnReadOnlyFilesystem(t *testing.T) {
	m := vfs.NewMem()
	threeVersions(t, m, "/c.json")
	vfs.WriteFile(m, "/c.json", []byte(`{"name":`), 0o644)
	var told []*store.RecoveredError
	s, err := store.Open("/c.json", &store.Options[Config]{FS: readOnly{m}, Backups: 2,
		OnRecover: func(r *store.RecoveredError) { told = append(told, r) }})
	if err != nil || len(told) != 1 || told[0].MovedTo != "" || told[0].MoveErr == nil || s == nil {
		t.Fatalf("Open on a read-only fs: %v, told %+v", err, told)
	}
	if c, _, err := s.Get(); c.Name != "v2" || err != nil || len(told) != 2 {
		t.Fatalf("Get: %+v %v, told %d", c, err, len(told))
	}
	// Without OnRecover, the same recoveries wait in Warnings.
	s2, err := store.Open("/c.json", &store.Options[Config]{FS: readOnly{m}, Backups: 2})
	if err != nil {
		t.Fatal(err)
	}
	s2.Get()
	if w, _ := s2.Warnings(); len(w) != 2 || !errors.Is(w[1], store.ErrCorrupt) {
		t.Fatalf("Warnings without OnRecover: %v", w)
	}
	if got := readString(t, m, "/c.json"); got != `{"name":` {
		t.Fatal("the file changed")
	}
}

func TestMigrations(t *testing.T) {
	type V3 struct {
		Title string `json:"title"`
		Port  int    `json:"port"`
	}
	migrate := map[int]func(map[string]json.RawMessage) error{
		1: func(d map[string]json.RawMessage) error { // port: "80" -> 80
			var s string
			if err := json.Unmarshal(d["port"], &s); err == nil {
				d["port"] = json.RawMessage(s)
			}
			return nil
		},
		2: func(d map[string]json.RawMessage) error { // name -> title
			d["title"] = d["name"]
			delete(d, "name")
			return nil
		},
	}
	m := vfs.NewMem()
	v1 := `{"schema": 1, "name": "demo", "keep": {"me": true}, "port": "80"}`
	vfs.WriteFile(m, "/c.json", []byte(v1), 0o644)
	s, err := store.Open("/c.json", &store.Options[V3]{FS: m, Schema: 3, Migrate: migrate})
	if err != nil {
		t.Fatal(err)
	}
	c, _, _ := s.Get()
	if c.Title != "demo" || c.Port != 80 {
		t.Fatalf("migrated value %+v", c)
	}
	want := "{\n  \"schema\": 3,\n  \"title\": \"demo\",\n  \"port\": 80,\n  \"keep\": {\n    \"me\": true\n  }\n}\n"
	if got := readString(t, m, "/c.json"); got != want {
		t.Fatalf("migrated file:\n%s\nwant\n%s", got, want)
	}
	if got := readString(t, m, "/c.json.pre-v1"); got != v1 {
		t.Fatalf("pre-migration copy: %s", got)
	}

	// A failing migration changes nothing.
	vfs.WriteFile(m, "/f.json", []byte(`{"schema":1,"name":"x"}`), 0o644)
	_, err = store.Open("/f.json", &store.Options[V3]{FS: m, Schema: 3, Migrate: map[int]func(map[string]json.RawMessage) error{
		2: func(map[string]json.RawMessage) error { return errors.New("cannot") },
	}})
	var me *store.MigrationError
	if !errors.As(err, &me) || me.From != 2 {
		t.Fatalf("failing migration: %v", err)
	}
	if got := readString(t, m, "/f.json"); got != `{"schema":1,"name":"x"}` {
		t.Fatalf("a failed migration changed the file: %s", got)
	}

	// A newer file is read as is and keeps its version.
	vfs.WriteFile(m, "/n.json", []byte(`{"schema":9,"title":"t","port":1,"v9_only":[1]}`), 0o644)
	n := open(t, "/n.json", &store.Options[V3]{FS: m, Schema: 3, Migrate: migrate})
	n.Update(ctx, func(c *V3) error { c.Port = 2; return nil })
	if got := readString(t, m, "/n.json"); !strings.Contains(got, `"schema": 9`) || !strings.Contains(got, `"v9_only"`) {
		t.Fatalf("newer file: %s", got)
	}

	// A file from before versions existed is version 0.
	vfs.WriteFile(m, "/z.json", []byte(`{"name":"old","port":"1"}`), 0o644)
	z := open(t, "/z.json", &store.Options[V3]{FS: m, Schema: 3, Migrate: migrate})
	if c, _, _ := z.Get(); c.Title != "old" || c.Port != 1 {
		t.Fatalf("version 0: %+v", c)
	}
	if readString(t, m, "/z.json.pre-v0") == "<absent>" {
		t.Fatal("no pre-v0 copy")
	}
	// A new file gets the current version.
	fresh := open(t, "/new.json", &store.Options[V3]{FS: m, Schema: 3})
	fresh.Update(ctx, func(c *V3) error { c.Title = "t"; return nil })
	if got := readString(t, m, "/new.json"); !strings.HasPrefix(got, "{\n  \"schema\": 3,") {
		t.Fatalf("new file: %s", got)
	}
}

// Options.Version, Schema's deprecated name, still turns schemas on, and
// the two names may not disagree.
func TestDeprecatedVersionIsSchema(t *testing.T) {
	type V2 struct {
		Name string `json:"name"`
	}
	m := vfs.NewMem()
	vfs.WriteFile(m, "/old.json", []byte(`{"schema":1,"nom":"x"}`), 0o644)
	migrate := map[int]func(map[string]json.RawMessage) error{
		1: func(d map[string]json.RawMessage) error { d["name"] = d["nom"]; delete(d, "nom"); return nil },
	}
	s, err := store.Open("/old.json", &store.Options[V2]{FS: m, Version: 2, Migrate: migrate})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := s.Get(); v.Name != "x" {
		t.Fatalf("the deprecated Version did not migrate: %+v", v)
	}
	if got := readString(t, m, "/old.json"); !strings.Contains(got, `"schema": 2`) {
		t.Fatalf("file after the deprecated Version's migration: %s", got)
	}
	if _, err := store.Open("/other.json", &store.Options[V2]{FS: m, Schema: 2, Version: 3}); err == nil {
		t.Fatal("Schema 2 with Version 3 was accepted")
	}
	if _, err := store.Open("/same.json", &store.Options[V2]{FS: m, Schema: 2, Version: 2}); err != nil {
		t.Fatalf("Schema and Version agreeing: %v", err)
	}
}
