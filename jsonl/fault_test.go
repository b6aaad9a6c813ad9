package jsonl_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/vfs"
)

// Error injection: fail every call that opening a torn log and appending
// to it makes, one at a time, with ENOSPC, EIO, ENOSPC from then on, and
// (for writes) a silent short write. The error must surface; no line that
// was acknowledged may be lost, even in a power cut right after; the torn
// bytes must never be lost; a failed write must be taken back; and the
// next Open must repair what is left and append.

const faultLog = "/app/log.jsonl"

var faultTorn = `{"id":"torn","pad":"ppp`

// faultOptions is opts (nil: the defaults) on fsys.
func faultOptions(opts *jsonl.Options, fsys vfs.FS) *jsonl.Options {
	o := jsonl.Options{}
	if opts != nil {
		o = *opts
	}
	o.FS = fsys
	return &o
}

// faultRunWith opens the log through fsys with opts (nil: the defaults)
// and appends three lines, padded by pad bytes more each, returning the
// lines acknowledged and the first error. It checks that a failed append
// that was not an fsync left the file as it was.
func faultRunWith(t *testing.T, m *vfs.MemFS, fsys vfs.FS, opts *jsonl.Options, pad int) (acked []string, first error) {
	f, err := jsonl.Open(faultLog, faultOptions(opts, fsys))
	if err != nil {
		return nil, err
	}
	for i := range 3 {
		l := line(fmt.Sprintf("new-%d", i), pad*i)
		before := content(t, m, faultLog)
		err := f.AppendRaw(context.Background(), []byte(l))
		if err == nil {
			acked = append(acked, l)
			continue
		}
		if first == nil {
			first = err
		}
		// A failed append is taken back (only a failing truncate could
		// keep it from that, and a truncate fault fails Open instead).
		if after := content(t, m, faultLog); after != before {
			t.Errorf("the failed append %q was left in the file: %q (before: %q)", l, after, before)
		}
	}
	if err := f.Close(); err != nil && first == nil {
		first = err
	}
	return acked, first
}

func TestFaultEveryCall(t *testing.T) {
	faultEveryCall(t, base, nil, 20, true)
}

// faultEveryCall fails every call of faultRunWith in turn on a log that
// holds prefix and a torn line. Acknowledged lines must survive a power
// cut right after only when durable says they are synced.
func faultEveryCall(t *testing.T, prefix string, opts *jsonl.Options, pad int, synced bool) {
	kinds := crashtest.FaultOps()
	files := map[string]string{faultLog: prefix + faultTorn}
	initial, _ := scanAll(memWith(files), faultLog)
	total := 0
	for _, kind := range kinds {
		probe := vfs.Inject(memWith(files), vfs.Fault{Ops: kind})
		if _, err := faultRunWith(t, memWith(files), probe, opts, pad); err != nil {
			t.Fatalf("without faults: %v", err)
		}
		for n := 1; n <= probe.Count(); n++ {
			for _, fl := range crashtest.FaultsAt(kind, n) {
				total++
				where := fmt.Sprintf("%s on %v call %d", fl.Label, kind, n)
				m := memWith(files)
				inj := vfs.Inject(m, fl.Fault)
				acked, err := faultRunWith(t, m, inj, opts, pad)
				if inj.Fired() == 0 {
					t.Fatalf("%s: the fault never fired", where)
				}
				if !errors.Is(err, fl.Want) {
					t.Errorf("%s: first error %v, want one wrapping %v", where, err, fl.Want)
				}
				if err != nil && !strings.Contains(err.Error(), filepath.FromSlash(faultLog)) {
					t.Errorf("%s: error %q does not name the file", where, err)
				}
				// What is on disk now, and what a power cut right now
				// would leave, must both recover with nothing lost.
				for _, state := range []struct {
					label string
					fs    *vfs.MemFS
				}{{"as left", m}, {"after a power cut", m.Crash(0)}} {
					want := append(initial, acked...)
					if !synced && state.label != "as left" {
						want = initial
					}
					if err := faultRecoverWith(t, state.fs, want, opts); err != nil {
						t.Errorf("%s, %s: %v\n%s", where, state.label, err, state.fs.Dump())
					}
				}
			}
		}
	}
	t.Logf("%d injected faults checked", total)
}

func faultRecoverWith(t *testing.T, fsys *vfs.MemFS, acked []string, opts *jsonl.Options) error {
	f, err := jsonl.Open(faultLog, faultOptions(opts, fsys))
	if err != nil {
		return fmt.Errorf("next Open: %v", err)
	}
	if err := f.Append(context.Background(), rec{ID: "recovered"}); err != nil {
		return fmt.Errorf("append after recovery: %v", err)
	}
	f.Close()
	vals, errs := scanAll(fsys, faultLog)
	if len(errs) > 0 {
		return fmt.Errorf("file does not parse: %v", errs)
	}
	count := map[string]int{}
	for _, v := range vals {
		count[v]++
	}
	for _, l := range acked {
		if count[l] != 1 {
			return fmt.Errorf("acknowledged line %.30q appears %d times", l, count[l])
		}
	}
	if !hasEvidence(evidence(t, fsys, faultLog), faultTorn) {
		return fmt.Errorf("the torn bytes are lost: evidence %q", evidence(t, fsys, faultLog))
	}
	return nil
}

// A failed fsync is final: never retried into a success. The lines it
// should have covered are taken back; when even that cannot be made
// durable, the File refuses further appends until it is opened again.
func TestFsyncFailureIsFinal(t *testing.T) {
	m := memWith(map[string]string{faultLog: base})
	inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpSync, N: 1, Err: syscall.EIO})
	f, err := jsonl.Open(faultLog, &jsonl.Options{FS: inj})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Append(context.Background(), rec{ID: "lost"}); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append = %v, want EIO", err)
	}
	if c := content(t, m, faultLog); c != base {
		t.Errorf("after the failed fsync the file holds %q, want the line taken back", c)
	}
	if err := f.Append(context.Background(), rec{ID: "next"}); err != nil {
		t.Fatalf("the next append, whose fsync works: %v", err)
	}
	f.Close()

	inj = vfs.Inject(m, vfs.Fault{Ops: vfs.OpSync, N: 1, Err: syscall.EIO, Sticky: true})
	f, err = jsonl.Open(faultLog, &jsonl.Options{FS: inj})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Append(context.Background(), rec{ID: "a"}); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append = %v, want EIO", err)
	}
	syncs := inj.Count()
	if err := f.Append(context.Background(), rec{ID: "b"}); err == nil || !strings.Contains(err.Error(), "open the file again") {
		t.Fatalf("append after an fsync failure that could not be undone = %v", err)
	}
	if inj.Count() != syncs {
		t.Errorf("a broken File kept calling fsync")
	}
}

// When a write fails and taking it back fails too, the partial line stays
// until the next append, which repairs it before writing.
func TestFailedUndoIsRepaired(t *testing.T) {
	m := memWith(map[string]string{faultLog: base})
	inj := vfs.Inject(m,
		vfs.Fault{Ops: vfs.OpWrite, N: 1, Short: true},
		vfs.Fault{Ops: vfs.OpTruncate, N: 1, Err: syscall.EIO})
	f, err := jsonl.Open(faultLog, &jsonl.Options{FS: inj})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := line("half", 30)
	if err := f.AppendRaw(context.Background(), []byte(l)); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("Append = %v, want a short write", err)
	}
	half := l[:(len(l)+1)/2]
	if c := content(t, m, faultLog); c != base+half {
		t.Fatalf("file holds %q, want the partial line left behind", c)
	}
	if err := f.Append(context.Background(), rec{ID: "next"}); err != nil {
		t.Fatal(err)
	}
	if c := content(t, m, faultLog); c != base+`{"id":"next"}`+"\n" {
		t.Errorf("file holds %q", c)
	}
	if !hasEvidence(evidence(t, m, faultLog), half) {
		t.Errorf("the partial line is in no evidence file")
	}
}

// Windows refuses to truncate through a handle opened for appending
// (FILE_APPEND_DATA without FILE_WRITE_DATA); the repair then truncates
// through a second handle. Other truncate errors are not retried.
func TestTruncateRefusedOnTheAppendHandle(t *testing.T) {
	m := memWith(map[string]string{faultLog: base + faultTorn})
	inj := vfs.Inject(m, vfs.Fault{Ops: vfs.OpTruncate, N: 1, Err: syscall.EACCES})
	f, err := jsonl.Open(faultLog, &jsonl.Options{FS: inj})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	f.Close()
	if c := content(t, m, faultLog); c != base || !hasEvidence(evidence(t, m, faultLog), faultTorn) {
		t.Fatalf("file holds %q after the repair", c)
	}
	if inj.Count() != 2 {
		t.Errorf("%d truncate calls, want 2 (the refused one, then through a second handle)", inj.Count())
	}

	m = memWith(map[string]string{faultLog: base + faultTorn})
	inj = vfs.Inject(m, vfs.Fault{Ops: vfs.OpTruncate, N: 1, Err: syscall.EIO})
	if _, err := jsonl.Open(faultLog, &jsonl.Options{FS: inj}); !errors.Is(err, syscall.EIO) || inj.Count() != 1 {
		t.Fatalf("Open with a failing truncate = %v after %d truncates, want EIO after 1", err, inj.Count())
	}
}
