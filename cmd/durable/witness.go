package main

import (
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/journal"
)

func witnessVerb() verb {
	return verb{
		name:    "witness",
		args:    "keygen|serve ...",
		summary: "run a transparency-log witness (C2SP tlog-witness) that cosigns logs' checkpoints",
		about: `A witness cosigns a log's checkpoint only after checking that it is consistent
with every checkpoint of that log it cosigned before, so a log owner who holds
the key can no longer rewrite, truncate or fork the log unnoticed: verify with
'durable log verify --witness VKEY'. Run it on another machine than the log.
Its state is a journal (package journal) in DIR: every tree it cosigned,
durable before it answers.

  keygen NAME                         make a cosigning key: NAME.key (0600) and
                                      NAME.pub (give NAME.pub to verifiers and
                                      'durable log witness add')
  serve --key K --log PUB... [--addr A] DIR
                                      serve POST /add-checkpoint for the logs
                                      whose public keys are given (a log's key
                                      is named after its origin)`,
		example: `durable witness keygen w1 && durable witness serve --key w1.key --log audit.pub --addr :7380 /var/lib/witness`,
		run:     runWitness,
	}
}

func witnessSubs() map[string]subverb {
	return map[string]subverb{
		"keygen": {"[--name NAME] NAME", `Makes a cosigning key: NAME.key (the private key, mode 0600) and NAME.pub
(give it to verifiers and to 'durable log witness add'). The witness's name
in its cosignatures is --name, or NAME's base name.`,
			"durable witness keygen w1", runWitnessKeygen},
		"serve": {"--key K --log PUB... DIR", `Serves POST /add-checkpoint for the logs whose public keys are given (a
log's key is named after its origin), cosigning a checkpoint only if it is
consistent with every one of that log cosigned before. DIR keeps that
memory, durable before each answer.`,
			"durable witness serve --key w1.key --log audit.pub --addr :7380 /var/lib/witness", runWitnessServe},
	}
}

func runWitness(c *cli, args []string) int { return c.dispatch(args, witnessSubs()) }

func runWitnessKeygen(c *cli, args []string) int {
	fs := c.flags()
	keyName := fs.String("name", "", "the witness's `name` in its cosignatures (NAME's base name by default)")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("want one NAME")
	}
	n := filepath.Base(rest[0])
	if *keyName != "" {
		n = *keyName
	}
	skey, vkey, err := journal.GenerateWitnessKey(rand.Reader, n)
	if err != nil {
		return c.usageError(err.Error())
	}
	return c.writeKeyPair(rest[0], skey, vkey, "witness private key")
}

func runWitnessServe(c *cli, args []string) int {
	fs := c.flags()
	key := fs.String("key", "", "the witness's private key `file` (from 'durable witness keygen')")
	addr := fs.String("addr", "localhost:7380", "`address` to listen on")
	var logs stringsFlag
	fs.Var(&logs, "log", "public key (`file` or key) of a log to witness; repeat for several")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 || *key == "" || len(logs) == 0 {
		return c.usageError("want --key FILE, at least one --log PUB, and one DIR")
	}
	b, err := durable.ReadFile(*key)
	if err != nil {
		return c.fail(err, false)
	}
	signer, err := journal.NewCosignatureSigner(strings.TrimSpace(string(b)))
	if err != nil {
		return c.usageError(fmt.Sprintf("%s: %v", *key, err))
	}
	var vs []note.Verifier
	for _, l := range logs {
		v, err := note.NewVerifier(strings.TrimSpace(readKeyArg(l)))
		if err != nil {
			return c.usageError(fmt.Sprintf("--log %q: not a log's public key: %v", l, err))
		}
		vs = append(vs, v)
	}
	j, err := journal.Open(rest[0], &journal.Options{HoldLock: true})
	if err != nil {
		return c.fail(err, false)
	}
	defer j.Close()
	w, err := journal.NewWitnessServer(c.ctx, j, signer, vs)
	if err != nil {
		return c.fail(err, false)
	}
	return serveHTTP(c, *addr, w, "witness "+signer.Name())
}
