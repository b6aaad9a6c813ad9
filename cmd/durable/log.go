package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/journal"
)

func logVerb() verb {
	return verb{
		name:    "log",
		args:    "keygen|append|cat|tail|checkpoint|verify|proof|serve|witness ...",
		summary: "append to, read, tail, checkpoint and verify a tamper-evident log",
		about: `A crash-safe, tamper-evident append-only log in a directory (package
journal): each record is durable when its index is printed, several processes
may append at once, and signed checkpoints over a Merkle tree make tampering
evident.

  keygen [--origin O] NAME         make a signing key: NAME.key (0600) and NAME.pub
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
  proof [--pub P] [--json] DIR INDEX
                                   print and check an inclusion proof of a
                                   record in the latest checkpoint's tree
  serve [--addr A] DIR             serve the log as C2SP tlog-tiles
  witness add|remove|list ...      the witnesses each checkpoint is pushed to

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
		"keygen": {"[--origin ORIGIN] NAME", `Generates an Ed25519 signing key for checkpoints: NAME.key (the private
key, mode 0600) and NAME.pub (the public key to verify with). The key's name
is --origin, or NAME's base name: a log takes its key's name as its origin
(the first line of its checkpoints) the first time it signs, so use one key
per log. NAME.signed, made beside the key, remembers the largest tree the key
signed. Keep NAME.key off the log's machine if you can.`,
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
an error); 8: corrupt; 9: tampered (with --pub, also a missing checkpoint).
Says what and where, and how many records no checkpoint covers.`,
			"durable log verify --pub audit.pub --remembered last-checkpoint /var/log/app-audit", runLogVerify},
		"proof": {"DIR INDEX", `Prints the record at INDEX, its leaf hash and the proof that it is in the
tree of the latest checkpoint (or of the whole log when there is none), and
checks the proof. With --pub the checkpoint's signature is checked too: a
checkpoint that is missing or not signed by that key is exit 9, and a record
the signed checkpoint does not cover yet is exit 1.`,
			"durable log proof /var/log/app-audit 42", runLogProof},
		"serve": {"DIR", `Serves the log over HTTP as C2SP tlog-tiles: exactly the stored checkpoint
and the hash tiles and entry bundles of the tree it signs, so any tlog client
can verify them. An entry is a record's leaf data (index, time, type, payload);
a bundle holding a record too large for its 16-bit length is not served (404)
while the hash tiles are: append with --tiles to refuse such records.`,
			"durable log serve --addr :8080 /var/log/app-audit", runLogServe},
		"witness": {"add NAME URL VKEY DIR | remove NAME DIR | list DIR", `Configures the witnesses (C2SP tlog-witness) that each checkpoint is pushed
to with a consistency proof from the size each last cosigned; their
cosignatures are attached to the stored checkpoint. A witness that is down
delays only its own cosignature. VKEY is the witness's public key or a file
holding it.`,
			"durable log witness add w1 https://witness.example.org w1.pub /var/log/app-audit", runLogWitness},
	}
}

func runLog(c *cli, args []string) int { return c.dispatch(args, logSubs()) }

func runLogKeygen(c *cli, args []string) int {
	fs := c.flags()
	origin := fs.String("origin", "", "the log's `origin` (e.g. example.com/audit), which names the key; NAME's base name by default")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("want one NAME")
	}
	base := filepath.Base(rest[0])
	if *origin != "" {
		base = *origin
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, base)
	if err != nil {
		return c.usageError(fmt.Sprintf("key name %q: %v (use letters, digits, dots and dashes)", base, err))
	}
	return c.writeKeyPair(rest[0], skey, vkey, "private key")
}

func readSigner(path string) (note.Signer, error) {
	return readKeyFile(path, note.NewSigner, "private key")
}

func readVerifier(path string) (note.Verifier, error) {
	return readKeyFile(path, note.NewVerifier, "public key")
}

func runLogAppend(c *cli, args []string) int {
	fs := c.flags()
	key := fs.String("key", "", "private key `file` to sign a checkpoint with after appending")
	asJSON := fs.Bool("json", false, "print {\"index\": N} per record, or the error, as JSON")
	tiles := fs.Bool("tiles", false, "refuse records a tlog-tiles entry bundle cannot carry ('log serve')")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) < 1 {
		return c.usageError("want a DIR")
	}
	if *tiles {
		for _, r := range rest[1:] {
			if len(r) > journal.MaxTilePayload {
				return c.usageError(fmt.Sprintf("a record of %d bytes is more than a tlog-tiles entry carries (%d bytes); nothing was appended", len(r), journal.MaxTilePayload))
			}
		}
	}
	var signer note.Signer
	if *key != "" {
		s, err := readSigner(*key)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		signer = s
	}
	for i, r := range rest[1:] {
		if len(r) > journal.MaxPayload {
			return c.usageError(fmt.Sprintf("record %d is %d bytes, more than a record can hold (%d bytes)", i, len(r), journal.MaxPayload))
		}
	}
	j, err := journal.Open(rest[0], &journal.Options{TileEntries: *tiles})
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
		if _, err := signCheckpoint(c, j, *key, signer); err != nil {
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
	case errors.Is(err, journal.ErrTooLarge):
		return c.usageError(fmt.Sprintf("%v; the %d record(s) printed above are appended, nothing after", err, appended))
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

// parseReadLog parses the flags of a verb that reads one log, DIR, and
// opens it read-only. When ok is false the verb is over with code; asJSON
// is the verb's --json flag (nil: it has none), read after parsing.
func (c *cli) parseReadLog(fs *flag.FlagSet, args []string, asJSON *bool) (j *journal.Journal, dir string, code int, ok bool) {
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return nil, "", code, false
	}
	if len(rest) != 1 {
		return nil, "", c.usageError("want one DIR"), false
	}
	j, err := openRead(rest[0])
	if err != nil {
		return nil, "", c.fail(err, asJSON != nil && *asJSON), false
	}
	return j, rest[0], exitOK, true
}

// printRecords prints what recs yields until it ends or fails.
func (c *cli) printRecords(recs iter.Seq2[journal.Record, error], asJSON bool) int {
	for r, err := range recs {
		if err != nil {
			return c.fail(err, asJSON)
		}
		c.printRecord(r, asJSON)
	}
	return exitOK
}

func runLogCat(c *cli, args []string) int {
	fs := c.flags()
	from := fs.Uint64("from", 0, "first `index` to print")
	asJSON := fs.Bool("json", false, "print one JSON object per record (index, type, time, payload)")
	j, _, code, ok := c.parseReadLog(fs, args, asJSON)
	if !ok {
		return code
	}
	defer j.Close()
	return c.printRecords(j.Scan(*from), *asJSON)
}

func runLogTail(c *cli, args []string) int {
	fs := c.flags()
	follow := fs.Bool("f", false, "keep printing records as they are appended")
	n := fs.Uint64("n", 10, "print the last `N` records first")
	asJSON := fs.Bool("json", false, "print one JSON object per record")
	j, _, code, ok := c.parseReadLog(fs, args, asJSON)
	if !ok {
		return code
	}
	defer j.Close()
	size := j.Size()
	from := uint64(0)
	if size > *n {
		from = size - *n
	}
	if !*follow {
		return c.printRecords(j.Scan(from), *asJSON)
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
	cp, err := signCheckpoint(c, j, *key, signer)
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
	var witnesses stringsFlag
	fs.Var(&witnesses, "witness", "a trusted witness's public key (`file` or key): the checkpoint must carry its cosignature; repeat for several")
	quorum := fs.Int("quorum", 0, "how many of the --witness keys must have cosigned (`N`; all of them by default)")
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
	opts := &journal.VerifyOptions{Quorum: *quorum}
	if vs, err := witnessVerifiers(witnesses); err != nil {
		return c.usageError(err.Error())
	} else {
		opts.Witnesses = vs
	}
	if *quorum < 0 || *quorum > len(witnesses) {
		return c.usageError(fmt.Sprintf("--quorum %d: want between 1 and the number of --witness keys (%d)", *quorum, len(witnesses)))
	}
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
		if len(strings.TrimSpace(string(b))) == 0 {
			return c.usageError(fmt.Sprintf("--remembered %s is empty: want a checkpoint that 'durable log checkpoint' printed", *remembered))
		}
		opts.Remembered = b
	}
	ctx := c.context()
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
	if rep.Uncovered > 0 {
		fmt.Fprintf(c.stdout, "not covered by any checkpoint: %d records (the last %d)\n", rep.Uncovered, rep.Uncovered)
	}
	if len(rep.Cosigners) > 0 {
		fmt.Fprintf(c.stdout, "cosigned by %s\n", strings.Join(rep.Cosigners, ", "))
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
	pub := fs.String("pub", "", "public key `file` of the checkpoint signer: check its signature")
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
	var vs note.Verifiers
	if *pub != "" {
		v, err := readVerifier(*pub)
		if err != nil {
			return c.fail(err, *asJSON)
		}
		vs = note.VerifierList(v)
	}
	j, err := openRead(rest[0])
	if err != nil {
		return c.fail(err, *asJSON)
	}
	defer j.Close()
	size := j.Size()
	var cp *journal.Checkpoint
	cpPath := filepath.Join(rest[0], "checkpoint")
	b, err := durable.ReadFile(cpPath)
	switch {
	case err == nil:
		p, err := journal.ParseCheckpoint(b, vs)
		switch {
		case err != nil && vs != nil:
			return c.fail(fmt.Errorf("%s: %w", cpPath, err), *asJSON)
		case err != nil:
		case p.Size > index:
			cp, size = p, p.Size
		case vs != nil:
			return c.fail(fmt.Errorf("record %d is not covered by the signed checkpoint (%d records): sign a newer one with 'durable log checkpoint'", index, p.Size), *asJSON)
		}
	case vs != nil && errors.Is(err, os.ErrNotExist):
		return c.fail(fmt.Errorf("%w: %s: no checkpoint to check the proof against, yet --pub was given: the log's %d records are covered by no signed checkpoint", durable.ErrTampered, cpPath, j.Size()), *asJSON)
	case vs != nil:
		return c.fail(err, *asJSON)
	}
	ctx := c.context()
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
	// Checked by golang.org/x/mod/sumdb/tlog, an implementation other than
	// the one that made the proof.
	tproof := make(tlog.RecordProof, len(proof))
	for i, h := range proof {
		tproof[i] = tlog.Hash(h)
	}
	if err := tlog.CheckRecord(tproof, int64(size), tlog.Hash(root), int64(index), tlog.Hash(rec.LeafHash())); err != nil {
		return c.fail(fmt.Errorf("%w: the inclusion proof of record %d in the tree of %d records does not check: %v", durable.ErrTampered, index, size, err), *asJSON)
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
	switch {
	case cp != nil && vs != nil:
		src = "the stored checkpoint, signed by " + strings.Join(cp.Signers, ", ")
	case cp != nil:
		src = "the stored checkpoint, signature NOT checked (no --pub)"
	}
	fmt.Fprintf(c.stdout, "record %d: %s\nleaf hash %s\ntree size %d (%s), root %s\nproof (%d hashes, checked):\n",
		index, rec.Payload, rec.LeafHash().Base64(), size, src, root.Base64(), len(proof))
	for _, h := range hashes {
		fmt.Fprintf(c.stdout, "  %s\n", h)
	}
	return exitOK
}
