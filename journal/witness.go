package journal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/vfs"
)

// Witnessing (https://c2sp.org/tlog-witness). The file "witnesses" in the
// log's directory lists the witnesses each checkpoint is pushed to, with
// the size each last cosigned, so the next push proves consistency from
// there.
const witnessesName = "witnesses"

const witnessesMagic = "durable-witnesses 1"

// WitnessInfo is a configured witness.
type WitnessInfo struct {
	Name string // a local name
	URL  string // the witness's prefix: the log POSTs to URL + "/add-checkpoint"
	Key  string // its verifier key (a cosignature/v1 key, or an Ed25519 note key)
	// Size is the size of the last checkpoint it cosigned (0: none yet).
	Size uint64
}

// WitnessOptions configure how CheckpointWith asks witnesses to cosign.
type WitnessOptions struct {
	// Client makes the requests (http.DefaultClient by default).
	Client *http.Client
	// Timeout bounds each witness's request (10 seconds by default): a
	// witness that is down delays nothing but its own cosignature, which
	// the next checkpoint asks for again.
	Timeout time.Duration
	// Report, when set, is told what went wrong with each witness that did
	// not cosign.
	Report func(witness string, err error)
}

// ErrWitness is wrapped by the errors of witnesses that refused or failed
// to cosign. One that proved the log inconsistent with what it saw before
// (a fork or a rollback) also wraps ErrTampered.
var ErrWitness = errors.New("journal: witness did not cosign")

func parseWitnesses(data []byte) ([]WitnessInfo, error) {
	i := bytes.LastIndex(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if i < 0 {
		return nil, errors.New("not a witness list")
	}
	body, tail := data[:i+1], strings.TrimSpace(string(data[i+1:]))
	sum := sha256.Sum256(body)
	if tail != "sha256 "+hex.EncodeToString(sum[:]) {
		return nil, errors.New("checksum mismatch: the file is damaged")
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if lines[0] != witnessesMagic {
		return nil, fmt.Errorf("unknown format %q", lines[0])
	}
	var ws []WitnessInfo
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 5 || f[0] != "witness" {
			return nil, fmt.Errorf("bad line %q", l)
		}
		n, err := strconv.ParseUint(f[4], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad size in %q", l)
		}
		ws = append(ws, WitnessInfo{Name: f[1], URL: f[2], Key: f[3], Size: n})
	}
	return ws, nil
}

func marshalWitnesses(ws []WitnessInfo) []byte {
	var b bytes.Buffer
	b.WriteString(witnessesMagic + "\n")
	for _, w := range ws {
		fmt.Fprintf(&b, "witness %s %s %s %d\n", w.Name, w.URL, w.Key, w.Size)
	}
	sum := sha256.Sum256(b.Bytes())
	fmt.Fprintf(&b, "sha256 %s\n", hex.EncodeToString(sum[:]))
	return b.Bytes()
}

func readWitnesses(fsys vfs.FS, dir string) ([]WitnessInfo, error) {
	path := filepath.Join(dir, witnessesName)
	data, err := sidecar.ReadFile(fsys, path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ws, err := parseWitnesses(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	return ws, nil
}

// Witnesses lists the witnesses configured for the log in dir.
func Witnesses(dir string) ([]WitnessInfo, error) {
	ws, err := readWitnesses(vfs.OS{}, dir)
	return ws, wrapErr("witnesses", dir, err)
}

// AddWitness configures a witness the log's checkpoints are pushed to: a
// local name, the witness's URL prefix and its verifier key. Adding a
// name again replaces its URL and key and starts over from size 0.
func (j *Journal) AddWitness(ctx context.Context, name, url, vkey string) error {
	if !ValidOrigin(name) || strings.ContainsFunc(url, func(r rune) bool { return r <= ' ' }) || url == "" {
		return &Error{Op: "witness add", Path: j.dir, Offset: -1, Err: fmt.Errorf("bad witness name %q or URL %q", name, url)}
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return &Error{Op: "witness add", Path: j.dir, Offset: -1, Err: fmt.Errorf("witness URL %q: want http:// or https://", url)}
	}
	if _, err := NewCosignatureVerifier(vkey); err != nil {
		return &Error{Op: "witness add", Path: j.dir, Offset: -1, Err: err}
	}
	return j.do(ctx, "witness add", func() error {
		ws, err := readWitnesses(j.fs, j.dir)
		if err != nil {
			return err
		}
		w := WitnessInfo{Name: name, URL: strings.TrimSuffix(url, "/"), Key: vkey}
		found := false
		for i := range ws {
			if ws[i].Name == name {
				ws[i], found = w, true
			}
		}
		if !found {
			ws = append(ws, w)
		}
		return j.writeWitnesses(ws)
	})
}

// RemoveWitness removes a configured witness.
func (j *Journal) RemoveWitness(ctx context.Context, name string) error {
	return j.do(ctx, "witness remove", func() error {
		ws, err := readWitnesses(j.fs, j.dir)
		if err != nil {
			return err
		}
		for i := range ws {
			if ws[i].Name == name {
				return j.writeWitnesses(append(ws[:i], ws[i+1:]...))
			}
		}
		return fmt.Errorf("no witness named %q", name)
	})
}

func (j *Journal) writeWitnesses(ws []WitnessInfo) error {
	return durable.WriteFile(filepath.Join(j.dir, witnessesName), marshalWitnesses(ws), 0o644, durable.WithFS(j.fs), durable.SidecarOf(j.dir))
}

// witnessResult is one witness's answer.
type witnessResult struct {
	w     WitnessInfo
	cosig []byte // its signature lines, verified
	err   error
}

// witness pushes the signed checkpoint msg to every configured witness at
// once, outside the journal's lock, then attaches the cosignatures to the
// stored checkpoint (unless a newer one replaced it meanwhile) and
// records the size each witness cosigned.
func (j *Journal) witness(ctx context.Context, msg []byte, s Signed, o *WitnessOptions) ([]byte, error) {
	ws, err := readWitnesses(j.fs, j.dir)
	if err != nil || len(ws) == 0 {
		return msg, wrapErr("witness", j.dir, err)
	}
	results := make([]witnessResult, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Go(func() {
			cosig, err := j.pushWitness(ctx, w, msg, s, o)
			results[i] = witnessResult{w: w, cosig: cosig, err: err}
		})
	}
	wg.Wait()
	out := msg
	var errs []error
	for _, r := range results {
		if r.err != nil {
			err := fmt.Errorf("witness %s (%s): %w", r.w.Name, r.w.URL, r.err)
			if o.Report != nil {
				o.Report(r.w.Name, r.err)
			}
			if errors.Is(r.err, ErrTampered) {
				errs = append(errs, err)
			}
			continue
		}
		out = append(out, r.cosig...)
	}
	err = j.do(ctx, "witness", func() error {
		cur, err := readWitnesses(j.fs, j.dir)
		if err != nil {
			return err
		}
		changed := false
		for _, r := range results {
			for i := range cur {
				if r.err == nil && cur[i].Name == r.w.Name && cur[i].Key == r.w.Key && cur[i].Size < s.Size {
					cur[i].Size, changed = s.Size, true
				}
			}
		}
		if changed {
			if err := j.writeWitnesses(cur); err != nil {
				return err
			}
		}
		stored, err := sidecar.ReadFile(j.fs, filepath.Join(j.dir, checkpointName))
		if err != nil || !bytes.Equal(stored, msg) || len(out) == len(msg) {
			return err
		}
		return durable.WriteFile(filepath.Join(j.dir, checkpointName), out, 0o644, durable.WithFS(j.fs), durable.SidecarOf(j.dir))
	})
	if err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

type witnessStatus struct {
	code int
	body string
}

func (e *witnessStatus) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.code, strings.TrimSpace(e.body))
}

// pushWitness sends one add-checkpoint request, and on a 409 that names a
// size the log can prove consistency from, once more from that size.
func (j *Journal) pushWitness(ctx context.Context, w WitnessInfo, msg []byte, s Signed, o *WitnessOptions) ([]byte, error) {
	v, err := NewCosignatureVerifier(w.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWitness, err)
	}
	old := w.Size
	for attempt := 0; ; attempt++ {
		if old > s.Size {
			return nil, fmt.Errorf("%w: %w: it cosigned a tree of %d records, and this log has %d: the log was rolled back or forked", ErrWitness, ErrTampered, old, s.Size)
		}
		proof, err := j.ConsistencyProof(ctx, old, s.Size)
		if err != nil {
			return nil, fmt.Errorf("%w: consistency proof from %d: %w", ErrWitness, old, err)
		}
		var body bytes.Buffer
		fmt.Fprintf(&body, "old %d\n", old)
		for _, h := range proof {
			body.WriteString(h.Base64() + "\n")
		}
		body.WriteString("\n")
		body.Write(msg)
		resp, err := postWitness(ctx, w.URL+"/add-checkpoint", body.Bytes(), o)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrWitness, err)
		}
		switch resp.code {
		case http.StatusOK:
			return checkCosignature(msg, resp.body, v)
		case http.StatusConflict:
			n, err := strconv.ParseUint(strings.TrimSpace(resp.body), 10, 64)
			if err != nil || attempt > 0 || n == old {
				return nil, fmt.Errorf("%w: conflict: %w", ErrWitness, resp)
			}
			old = n // it knows another size: prove from there
			continue
		case http.StatusUnprocessableEntity:
			return nil, fmt.Errorf("%w: %w: it rejected the consistency proof from %d records: the tree it cosigned there is not this log's (a fork, or a rewritten log): %w", ErrWitness, ErrTampered, old, resp)
		case http.StatusForbidden:
			return nil, fmt.Errorf("%w: it does not trust this log's key: %w", ErrWitness, resp)
		case http.StatusNotFound:
			return nil, fmt.Errorf("%w: it does not know this log's origin %q (ask its operator to add it): %w", ErrWitness, s.Origin, resp)
		default:
			return nil, fmt.Errorf("%w: %w", ErrWitness, resp)
		}
	}
}

func postWitness(ctx context.Context, url string, body []byte, o *WitnessOptions) (*witnessStatus, error) {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	client := o.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	return &witnessStatus{code: resp.StatusCode, body: string(b)}, nil
}

// checkCosignature keeps the signature lines of a 200 answer that verify
// with the witness's key.
func checkCosignature(msg []byte, lines string, v note.Verifier) ([]byte, error) {
	var kept []byte
	for _, l := range strings.SplitAfter(lines, "\n") {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\n") {
			l += "\n"
		}
		if _, err := note.Open(append(append([]byte(nil), msg...), l...), note.VerifierList(v)); err == nil {
			kept = append(kept, l...)
		}
	}
	if kept == nil {
		return nil, fmt.Errorf("%w: its answer carries no valid cosignature by %s", ErrWitness, v.Name())
	}
	return kept, nil
}
