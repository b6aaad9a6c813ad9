package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/journal"
)

func logVerb() verb {
	return verb{
		name:    "log",
		args:    "keygen|append|cat|tail|checkpoint|verify|proof ...",
		summary: "append to, read, tail, checkpoint and verify a tamper-evident log",
		about: `A crash-safe, tamper-evident append-only log in a directory (package
journal): each record is durable when its index is printed, several processes
may append at once, and signed checkpoints over a Merkle tree make tampering
evident.

  keygen NAME                      make a signing key: NAME.key (0600) and NAME.pub
  append [--key K] DIR [RECORD...] append the records, or one per stdin line;
                                   print each index once it is durable (and
                                   sign a checkpoint with --key)
  cat [--from N] [--json] DIR      print the records
  tail [-f] [-n N] DIR             print the last N records; -f follows
  checkpoint --key K DIR           sign the log's size and root, store it, print it
  verify [--pub P] [--remembered C] [--json] DIR
                                   check every frame, the segment chain, the
                                   tree and the checkpoint; exit 8 if corrupt,
                                   9 if tampered
  proof [--json] DIR INDEX         print and check an inclusion proof of a
                                   record in the latest checkpoint's tree

Run 'durable log SUBCOMMAND --help' for its flags.`,
		example: `durable log keygen audit && echo "user alice logged in" | durable log append --key audit.key /var/log/app-audit
durable log verify --pub audit.pub /var/log/app-audit`,
		run: runLog,
	}
}

// logSub is one subcommand of "durable log".
type logSub = subverb

func logSubs() map[string]logSub {
	return map[string]logSub{
		"keygen": {"NAME", `Generates an Ed25519 signing key for checkpoints: NAME.key (the private
key, mode 0600) and NAME.pub (the public key to verify with). The key's name
is NAME's base name. Keep NAME.key off the log's machine if you can.`,
			"durable log keygen audit", runLogKeygen},
		"append": {"DIR [RECORD...]", `Appends each RECORD, or each line of stdin when there are none, and prints
each record's index once it is durable. Lines that arrive together share one
write and one flush. With --key, signs a checkpoint afterwards.`,
			`echo "deploy v2" | durable log append /var/log/app-audit`, runLogAppend},
		"cat": {"DIR", `Prints the committed records from --from on: the payloads, one per line, or
with --json one JSON object per record with its index, type and time.`,
			"durable log cat --from 100 --json /var/log/app-audit", runLogCat},
		"tail": {"DIR", `Prints the last -n records; with -f, keeps printing records as any process
appends them, until interrupted. Only committed records are printed.`,
			"durable log tail -f /var/log/app-audit", runLogTail},
		"checkpoint": {"DIR", `Signs the log's current size and Merkle root with --key and stores the
checkpoint in DIR/checkpoint; prints it. Keep a copy elsewhere: only a
checkpoint remembered off this machine catches someone who can rewrite the
whole directory and holds the key.`,
			"durable log checkpoint --key audit.key /var/log/app-audit", runLogCheckpoint},
		"verify": {"DIR", `Checks every header and frame checksum, the chain of segments, the Merkle
tree, and the tree against the stored checkpoint (signed by --pub) and against
--remembered. Exit 0: intact (a torn tail not yet recovered is reported, not
an error); 8: corrupt; 9: tampered. Says what and where.`,
			"durable log verify --pub audit.pub --remembered last-checkpoint /var/log/app-audit", runLogVerify},
		"proof": {"DIR INDEX", `Prints the record at INDEX, its leaf hash and the proof that it is in the
tree of the latest checkpoint (or of the whole log when there is none), and
checks the proof.`,
			"durable log proof /var/log/app-audit 42", runLogProof},
	}
}

func runLog(c *cli, args []string) int { return c.dispatch(args, logSubs()) }

func runLogKeygen(c *cli, args []string) int {
	fs := c.flags()
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("want one NAME")
	}
	base := filepath.Base(rest[0])
	skey, vkey, err := note.GenerateKey(rand.Reader, base)
	if err != nil {
		return c.usageError(fmt.Sprintf("key name %q: %v (use letters, digits, dots and dashes)", base, err))
	}
	if err := durable.WriteFile(rest[0]+".key", []byte(skey+"\n"), 0o600, durable.NoClobber()); err != nil {
		return c.fail(err, false)
	}
	if err := durable.WriteFile(rest[0]+".pub", []byte(vkey+"\n"), 0o644, durable.NoClobber()); err != nil {
		return c.fail(err, false)
	}
	fmt.Fprintf(c.stdout, "%s.key: private key (keep it secret)\n%s.pub: %s\n", rest[0], rest[0], vkey)
	return exitOK
}

func readSigner(path string) (note.Signer, error) {
	b, err := durable.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := note.NewSigner(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: not a private key from 'durable log keygen': %w", path, err)
	}
	return s, nil
}

func readVerifier(path string) (note.Verifier, error) {
	b, err := durable.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: not a public key from 'durable log keygen': %w", path, err)
	}
	return v, nil
}

func runLogAppend(c *cli, args []string) int {
	fs := c.flags()
	key := fs.String("key", "", "private key `file` to sign a checkpoint with after appending")
	asJSON := fs.Bool("json", false, "print {\"index\": N} per record, or the error, as JSON")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) < 1 {
		return c.usageError("want a DIR")
	}
	var signer note.Signer
	if *key != "" {
		s, err := readSigner(*key)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		signer = s
	}
	j, err := journal.Open(rest[0], nil)
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer j.Close()
	printIdx := func(first uint64, n int) {
		for i := range n {
			if *asJSON {
				fmt.Fprintf(c.stdout, "{\"index\": %d}\n", first+uint64(i))
			} else {
				fmt.Fprintln(c.stdout, first+uint64(i))
			}
		}
	}
	if len(rest) > 1 {
		var recs [][]byte
		for _, r := range rest[1:] {
			recs = append(recs, []byte(r))
		}
		first, err := j.AppendBatch(c.ctx, recs)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		printIdx(first, len(recs))
	} else if code := appendLines(c, j, printIdx, *asJSON); code != exitOK {
		return code
	}
	if signer != nil {
		if _, err := j.Checkpoint(c.ctx, signer); err != nil {
			return c.fail(err, *asJSON)
		}
	}
	return exitOK
}

// appendLines appends stdin line by line as it arrives; the lines that
// are waiting when a batch starts go in it together (see readGroups).
func appendLines(c *cli, j *journal.Journal, printIdx func(uint64, int), asJSON bool) int {
	appended := 0
	err := readGroups(c.ctx, c.stdin, func(group []stdinLine) error {
		batch := make([][]byte, len(group))
		for i, l := range group {
			batch[i] = l.text
		}
		first, err := j.AppendBatch(c.ctx, batch)
		if err != nil {
			return err
		}
		printIdx(first, len(batch))
		appended += len(batch)
		return nil
	})
	switch {
	case err != nil && c.ctx.Err() != nil:
		return c.fail(fmt.Errorf("%w; the %d record(s) printed above are appended, nothing after", c.interrupted(), appended), asJSON)
	case err != nil:
		return c.fail(fmt.Errorf("%w; the %d record(s) printed above are appended, nothing after", err, appended), asJSON)
	}
	return exitOK
}

// printRecord prints a payload, or a JSON object.
func (c *cli) printRecord(r journal.Record, asJSON bool) {
	if !asJSON {
		if r.Type != journal.TypeData {
			fmt.Fprintf(c.stdout, "# %s %d: %s\n", r.Type, r.Index, r.Payload)
			return
		}
		c.stdout.Write(r.Payload)
		if len(r.Payload) == 0 || r.Payload[len(r.Payload)-1] != '\n' {
			io.WriteString(c.stdout, "\n")
		}
		return
	}
	type rec struct {
		Index    uint64 `json:"index"`
		Type     string `json:"type"`
		Time     string `json:"time"`
		Payload  string `json:"payload"`
		Encoding string `json:"payload_encoding"`
	}
	out := rec{Index: r.Index, Type: r.Type.String(), Time: r.Time.UTC().Format(time.RFC3339Nano)}
	out.Payload, out.Encoding = payloadJSON(r.Payload)
	c.printJSONLine(out)
}

func (c *cli) printJSONLine(v any) {
	b, _ := json.Marshal(v)
	c.stdout.Write(append(b, '\n'))
}

func openRead(dir string) (*journal.Journal, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	return journal.Open(dir, &journal.Options{ReadOnly: true})
}

func runLogCat(c *cli, args []string) int {
	fs := c.flags()
	from := fs.Uint64("from", 0, "first `index` to print")
	asJSON := fs.Bool("json", false, "print one JSON object per record (index, type, time, payload)")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("want one DIR")
	}
	j, err := openRead(rest[0])
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer j.Close()
	for r, err := range j.Scan(*from) {
		if err != nil {
			return c.fail(err, *asJSON)
		}
		c.printRecord(r, *asJSON)
	}
	return exitOK
}

func runLogTail(c *cli, args []string) int {
	fs := c.flags()
	follow := fs.Bool("f", false, "keep printing records as they are appended")
	n := fs.Uint64("n", 10, "print the last `N` records first")
	asJSON := fs.Bool("json", false, "print one JSON object per record")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("want one DIR")
	}
	j, err := openRead(rest[0])
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer j.Close()
	size := j.Size()
	from := uint64(0)
	if size > *n {
		from = size - *n
	}
	if !*follow {
		for r, err := range j.Scan(from) {
			if err != nil {
				return c.fail(err, *asJSON)
			}
			c.printRecord(r, *asJSON)
		}
		return exitOK
	}
	for r, err := range j.Follow(c.ctx, from) {
		if err != nil && c.ctx.Err() != nil {
			return exitOK // -f runs until interrupted: that is how it ends
		}
		if err != nil {
			return c.fail(err, *asJSON)
		}
		c.printRecord(r, *asJSON)
	}
	return exitOK
}

func runLogCheckpoint(c *cli, args []string) int {
	fs := c.flags()
	key := fs.String("key", "", "private key `file` (from 'durable log keygen')")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 || *key == "" {
		return c.usageError("want --key FILE and one DIR")
	}
	signer, err := readSigner(*key)
	if err != nil {
		return c.fail(err, false)
	}
	j, err := journal.Open(rest[0], nil)
	if err != nil {
		return c.fail(err, false)
	}
	defer j.Close()
	cp, err := j.Checkpoint(c.ctx, signer)
	if err != nil {
		return c.fail(err, false)
	}
	c.stdout.Write(cp)
	return exitOK
}

func runLogVerify(c *cli, args []string) int {
	fs := c.flags()
	pub := fs.String("pub", "", "public key `file` of the checkpoint signer")
	remembered := fs.String("remembered", "", "a checkpoint `file` kept elsewhere, to catch a rewrite or rollback of the whole directory")
	asJSON := fs.Bool("json", false, "print the report, or the error, as JSON")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("want one DIR")
	}
	if _, err := os.Stat(rest[0]); err != nil {
		return c.fail(err, *asJSON)
	}
	opts := &journal.VerifyOptions{}
	if *pub != "" {
		v, err := readVerifier(*pub)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		opts.Verifier = v
	}
	if *remembered != "" {
		b, err := durable.ReadFile(*remembered)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		opts.Remembered = b
	}
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	rep, err := journal.Verify(ctx, rest[0], opts)
	if *asJSON {
		o := newVerifyReportJSON(rep, err)
		c.printJSON(o)
		return o.Code
	}
	if err != nil {
		return c.fail(err, false)
	}
	fmt.Fprintf(c.stdout, "ok: %d records (%s) in %d segments, %d batches\nroot %s\n",
		rep.Records, indexRange(rep.First, rep.Records), rep.Segments, rep.Batches, hashJSON(rep.Root))
	if cp := rep.Checkpoint; cp != nil {
		how := "signature NOT checked (no --pub)"
		if rep.CheckpointVerified {
			how = "signed by " + strings.Join(cp.Signers, ", ")
		}
		fmt.Fprintf(c.stdout, "checkpoint: %d records, %s\n", cp.Size, how)
	}
	if rep.Remembered != nil {
		fmt.Fprintf(c.stdout, "remembered checkpoint: %d records, consistent\n", rep.Remembered.Size)
	}
	if t := rep.Torn; t != nil {
		fmt.Fprintf(c.stdout, "torn tail: %d bytes at %s offset %d, never acknowledged; the next writer cuts it\n", t.Bytes, t.Path, t.Offset)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(c.stdout, "warning: %s\n", w)
	}
	return exitOK
}

func runLogProof(c *cli, args []string) int {
	fs := c.flags()
	asJSON := fs.Bool("json", false, "print the proof as JSON")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 2 {
		return c.usageError("want DIR and INDEX")
	}
	index, err := strconv.ParseUint(rest[1], 10, 64)
	if err != nil {
		return c.usageError(fmt.Sprintf("INDEX %q: want a record index", rest[1]))
	}
	j, err := openRead(rest[0])
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer j.Close()
	size := j.Size()
	var cp *journal.Checkpoint
	if b, err := durable.ReadFile(filepath.Join(rest[0], "checkpoint")); err == nil {
		if p, err := journal.ParseCheckpoint(b, nil); err == nil && p.Size > index {
			cp, size = p, p.Size
		}
	}
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	rec, err := j.Record(ctx, index)
	if err != nil {
		return c.fail(err, *asJSON)
	}
	root, err := j.RootAt(ctx, size)
	if err != nil {
		return c.fail(err, *asJSON)
	}
	proof, err := j.InclusionProof(ctx, index, size)
	if err != nil {
		return c.fail(err, *asJSON)
	}
	if err := journal.VerifyInclusion(rec.LeafHash(), index, size, proof, root); err != nil {
		return c.fail(err, *asJSON)
	}
	if cp != nil && cp.Root != root {
		return c.fail(fmt.Errorf("%w: the log's root for %d records differs from the checkpoint's", durable.ErrTampered, size), *asJSON)
	}
	var hashes []string
	for _, h := range proof {
		hashes = append(hashes, h.Base64())
	}
	if *asJSON {
		c.printJSON(struct {
			Index      uint64   `json:"index"`
			TreeSize   uint64   `json:"tree_size"`
			Root       string   `json:"root"`
			Leaf       string   `json:"leaf_hash"`
			Proof      []string `json:"proof"`
			Checkpoint bool     `json:"from_checkpoint"`
		}{index, size, root.Base64(), rec.LeafHash().Base64(), hashes, cp != nil})
		return exitOK
	}
	src := "the whole log (no checkpoint covers it)"
	if cp != nil {
		src = "the stored checkpoint"
	}
	fmt.Fprintf(c.stdout, "record %d: %s\nleaf hash %s\ntree size %d (%s), root %s\nproof (%d hashes, checked):\n",
		index, rec.Payload, rec.LeafHash().Base64(), size, src, root.Base64(), len(proof))
	for _, h := range hashes {
		fmt.Fprintf(c.stdout, "  %s\n", h)
	}
	return exitOK
}
