package durable_test

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/vfs"
)

// Error injection: fail every call an operation makes, one at a time, with
// ENOSPC, EIO and (for writes) a silent short write, and check that the error
// surfaces, names the file, leaves the old content intact and leaves no temp
// file behind.

type faultScenario struct {
	name  string
	files map[string]string // initial, durable state
	run   func(fsys vfs.FS) error
	// target, old and new content, and the backup's old content if any
	target, old, new string
	backup, oldBak   string
}

func faultScenarios() []faultScenario {
	return []faultScenario{
		{
			name:  "replace",
			files: map[string]string{"/app/config.json": v1},
			run: func(f vfs.FS) error {
				return durable.WriteFile("/app/config.json", []byte(v2), 0o600, durable.WithFS(f))
			},
			target: "/app/config.json", old: v1, new: v2,
		},
		{
			name:  "new file in new directories",
			files: map[string]string{"/home/x": "x"},
			run: func(f vfs.FS) error {
				return durable.WriteFile("/home/u/.config/app/token.json", []byte(v1), 0o600, durable.WithFS(f))
			},
			target: "/home/u/.config/app/token.json", old: "<absent>", new: v1,
		},
		{
			name:  "backup and verify",
			files: map[string]string{"/etc/app.conf": v2, "/etc/app.conf.bak.1": v1},
			run: func(f vfs.FS) error {
				return durable.WriteFile("/etc/app.conf", []byte(v3), 0o600, durable.WithFS(f), durable.Backup(),
					durable.Verify(func([]byte) error { return nil }))
			},
			target: "/etc/app.conf", old: v2, new: v3, backup: "/etc/app.conf.bak.1", oldBak: v1,
		},
		{
			name:  "create and commit",
			files: map[string]string{"/data/export.csv": v1},
			run: func(f vfs.FS) error {
				p, err := durable.Create("/data/export.csv", 0o644, durable.WithFS(f))
				if err != nil {
					return err
				}
				defer p.Cleanup()
				for i := 0; i < len(v2); i += 1000 {
					if _, err := p.Write([]byte(v2[i:min(i+1000, len(v2))])); err != nil {
						return err
					}
				}
				return p.Commit()
			},
			target: "/data/export.csv", old: v1, new: v2,
		},
		{
			name:  "skip unchanged",
			files: map[string]string{"/s": v1},
			run: func(f vfs.FS) error {
				return durable.WriteFile("/s", []byte(v1), 0o600, durable.WithFS(f), durable.SkipUnchanged())
			},
			target: "/s", old: v1, new: v1,
		},
		{
			name:  "no clobber",
			files: map[string]string{"/run/x": "x"},
			run: func(f vfs.FS) error {
				return durable.WriteFile("/run/once", []byte(v1), 0o600, durable.WithFS(f), durable.NoClobber())
			},
			target: "/run/once", old: "<absent>", new: v1,
		},
	}
}

func TestFaultEveryCall(t *testing.T) {
	kinds := crashtest.FaultOps()
	total := 0
	for _, sc := range faultScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			for _, kind := range kinds {
				probe := vfs.Inject(memWith(sc.files), vfs.Fault{Ops: kind})
				if err := sc.run(probe); err != nil {
					t.Fatalf("without faults: %v", err)
				}
				for n := 1; n <= probe.Count(); n++ {
					for _, fl := range crashtest.FaultsAt(kind, n) {
						total++
						m := memWith(sc.files)
						inj := vfs.Inject(m, fl.Fault)
						err := sc.run(inj)
						where := fmt.Sprintf("%s on %v call %d", fl.Label, kind, n)
						if inj.Fired() == 0 {
							t.Fatalf("%s: the fault never fired", where)
						}
						checkFault(t, where, sc, m, kind, err, fl.Want)
					}
				}
			}
		})
	}
	t.Logf("%d injected faults checked", total)
}

func checkFault(t *testing.T, where string, sc faultScenario, m *vfs.MemFS, kind vfs.Op, err, want error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: the operation reported success", where)
	} else if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want it to wrap %v", where, err, want)
	} else if !strings.Contains(err.Error(), sc.target) {
		t.Errorf("%s: error %q does not name the file", where, err)
	}
	got := content(t, m, sc.target)
	switch {
	case got == sc.old:
	case got == sc.new && kind == vfs.OpSyncDir:
		// The rename happened; only its durability could not be ensured,
		// and the caller was told.
	case got == sc.new && kind == vfs.OpRemove && sc.name == "no clobber":
		// Create-only publishes with a hard link and then removes the
		// temp name; if that removal fails the file is published, the
		// caller is told, and the leftover is CleanTemp's to remove.
		return
	default:
		t.Errorf("%s: target is %.30q, want the old content intact", where, got)
	}
	if sc.backup != "" {
		if b := content(t, m, sc.backup); b != sc.oldBak && b != sc.old {
			t.Errorf("%s: backup is %.30q", where, b)
		}
	}
	if tmp := tempsIn(m, "/"); len(tmp) > 0 {
		t.Errorf("%s: temp files left: %v", where, tmp)
	}
}

// tempsIn lists files named like temp files anywhere below dir.
func tempsIn(fsys vfs.FS, dir string) []string {
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		p := strings.TrimSuffix(dir, "/") + "/" + e.Name()
		if e.IsDir() {
			out = append(out, tempsIn(fsys, p)...)
		} else if strings.HasSuffix(e.Name(), ".tmp") {
			out = append(out, p)
		}
	}
	return out
}

// The traps: a failed fsync is final (never retried into a false success),
// and a short write never publishes a truncated file.
func TestFsyncFailureIsFinal(t *testing.T) {
	m := memWith(map[string]string{"/f": v1})
	inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpSync, N: 1, Err: syscall.EIO})
	err := durable.WriteFile("/f", []byte(v2), 0o600, durable.WithFS(inj))
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("err = %v, want EIO", err)
	}
	if got := inj.Count(); got != 1 {
		t.Fatalf("%d fsync calls after a failed fsync; a retry can report data the kernel dropped", got)
	}
	if c := content(t, m, "/f"); c != v1 {
		t.Fatalf("content %.20q", c)
	}
}

func TestErrorsCarryPathAndCause(t *testing.T) {
	m := memWith(map[string]string{"/d/f": v1})
	inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpWrite, N: 1, Err: syscall.ENOSPC})
	err := durable.WriteFile("/d/f", []byte(v2), 0o600, durable.WithFS(inj))
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != "/d/f" {
		t.Fatalf("err %v is not a PathError naming /d/f", err)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err %v does not wrap ENOSPC", err)
	}
}
