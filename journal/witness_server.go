package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
)

// WitnessServer is a witness (https://c2sp.org/tlog-witness) whose state
// is a journal: it cosigns a checkpoint only after checking that it is
// consistent with the last one it cosigned for that origin, and it appends
// what it cosigned (a "cosigned <origin> <size> <root>" record) durably
// before it answers, so a witness that crashed and restarted never cosigns
// a tree inconsistent with one it cosigned before. Its journal is also an
// audit trail of every tree it vouched for. One process serves a state
// journal at a time (open it with Options.HoldLock).
type WitnessServer struct {
	j      *Journal
	signer note.Signer
	logs   map[string]note.Verifiers // by origin

	mu    sync.Mutex
	state map[string]Signed
}

// NewWitnessServer returns a witness that keeps its state in j, cosigns
// with signer (NewCosignatureSigner), and accepts checkpoints of the logs
// whose keys are given: a log's key is named after its origin.
func NewWitnessServer(ctx context.Context, j *Journal, signer note.Signer, logs []note.Verifier) (*WitnessServer, error) {
	w := &WitnessServer{j: j, signer: signer, logs: map[string]note.Verifiers{}, state: map[string]Signed{}}
	byOrigin := map[string][]note.Verifier{}
	for _, v := range logs {
		byOrigin[v.Name()] = append(byOrigin[v.Name()], v)
	}
	for o, vs := range byOrigin {
		w.logs[o] = note.VerifierList(vs...)
	}
	for r, err := range j.Scan(0) {
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.Type != TypeData {
			continue
		}
		s, err := parseCosigned(r.Payload)
		if err != nil {
			return nil, fmt.Errorf("%w: witness state record %d: %w", ErrCorrupt, r.Index, err)
		}
		w.state[s.Origin] = s
	}
	return w, nil
}

func parseCosigned(p []byte) (Signed, error) {
	f := strings.Fields(string(p))
	if len(f) != 4 || f[0] != "cosigned" {
		return Signed{}, errors.New("not a cosigned record")
	}
	n, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return Signed{}, err
	}
	h, err := decodeHash(f[3])
	if err != nil {
		return Signed{}, err
	}
	return Signed{Origin: f[1], Size: n, Root: h}, nil
}

// Latest returns the last tree the witness cosigned for origin.
func (w *WitnessServer) Latest(origin string) (Signed, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.state[origin]
	return s, ok
}

// ServeHTTP serves POST /add-checkpoint.
func (w *WitnessServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/add-checkpoint" {
		http.NotFound(rw, r)
		return
	}
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", "POST")
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	sigs, code, err := w.add(r.Context(), body)
	var conflict *conflictSize
	switch {
	case errors.As(err, &conflict):
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", conflict.size)
	case err != nil:
		http.Error(rw, err.Error(), code)
	default:
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Write(sigs)
	}
}

type conflictSize struct{ size uint64 }

func (c *conflictSize) Error() string {
	return fmt.Sprintf("the witness's tree has %d records", c.size)
}

func (w *WitnessServer) add(ctx context.Context, body []byte) ([]byte, int, error) {
	head, msg, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return nil, http.StatusBadRequest, errors.New("no blank line after the proof")
	}
	lines := strings.Split(string(head), "\n")
	o, ok := strings.CutPrefix(lines[0], "old ")
	old, err := strconv.ParseUint(o, 10, 64)
	if !ok || err != nil || strconv.FormatUint(old, 10) != o {
		return nil, http.StatusBadRequest, errors.New("the first line is not \"old <size>\"")
	}
	var proof []Hash
	for _, l := range lines[1:] {
		h, err := decodeHash(l)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("bad proof line %q", l)
		}
		proof = append(proof, h)
	}
	origin, _, _ := strings.Cut(string(msg), "\n")
	vs, known := w.logs[origin]
	if !known {
		return nil, http.StatusNotFound, fmt.Errorf("unknown log %q", origin)
	}
	n, err := note.Open(msg, vs)
	if err != nil {
		return nil, http.StatusForbidden, fmt.Errorf("no signature by a key of %q verifies", origin)
	}
	c, err := parseCheckpointText(n.Text)
	if err != nil || c.Origin != origin {
		return nil, http.StatusBadRequest, fmt.Errorf("not a checkpoint: %v", err)
	}
	if old > c.Size {
		return nil, http.StatusBadRequest, fmt.Errorf("old size %d is larger than the checkpoint's %d", old, c.Size)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	cur, ok := w.state[origin]
	if !ok {
		cur = Signed{Origin: origin, Root: emptyRoot}
	}
	if old != cur.Size {
		return nil, http.StatusConflict, &conflictSize{cur.Size}
	}
	if old == 0 && len(proof) != 0 {
		return nil, http.StatusBadRequest, errors.New("a proof from the empty tree must be empty")
	}
	if old > 0 {
		if err := VerifyConsistency(old, c.Size, cur.Root, c.Root, proof); err != nil {
			return nil, http.StatusUnprocessableEntity, err
		}
	}
	if c.Size > cur.Size || !ok {
		rec := fmt.Sprintf("cosigned %s %d %s", origin, c.Size, c.Root.Base64())
		if _, err := w.j.Append(ctx, []byte(rec)); err != nil {
			return nil, http.StatusServiceUnavailable, err
		}
		w.state[origin] = Signed{Origin: origin, Size: c.Size, Root: c.Root}
	}
	signed, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	i := bytes.LastIndex(signed, []byte("\n\n"))
	return signed[i+2:], http.StatusOK, nil
}
