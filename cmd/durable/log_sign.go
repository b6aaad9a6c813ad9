package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/journal"
)

// signedMemory is where the CLI keeps the signer's memory of the largest
// tree it signed: beside the key (audit.key → audit.signed), so that a log
// restored from a backup, or a copy signed with the same key, is refused
// even though its directory went back in time with it.
func signedMemory(keyPath string) string {
	return strings.TrimSuffix(keyPath, ".key") + ".signed"
}

// signCheckpoint signs the log's checkpoint with the key at keyPath. The
// first time a log signs, it takes the key's name as its origin (C2SP:
// the key is named after the origin), so use one key per log. Configured
// witnesses are asked to cosign.
func signCheckpoint(c *cli, j *journal.Journal, keyPath string, signer note.Signer) ([]byte, error) {
	if signer.Name() != j.Origin() {
		if err := adoptOrigin(c, j, signer.Name()); err != nil {
			return nil, err
		}
	}
	opts := &journal.CheckpointOptions{Memory: signedMemory(keyPath)}
	if ws, err := journal.Witnesses(j.Dir()); err != nil {
		return nil, err
	} else if len(ws) > 0 {
		opts.Witnesses = &journal.WitnessOptions{Report: func(name string, err error) {
			fmt.Fprintf(c.stderr, "durable: witness %s: %v\n", name, err)
		}}
	}
	return j.CheckpointWith(c.ctx, signer, opts)
}

// adoptOrigin sets the log's origin to the key's name when the log has no
// origin of its own yet and never signed a checkpoint; a log that signed
// under its default origin keeps it (keys from before --origin).
func adoptOrigin(c *cli, j *journal.Journal, name string) error {
	if _, err := os.Lstat(filepath.Join(j.Dir(), "origin")); err == nil {
		return fmt.Errorf("the key is named %q but the log's origin is %q: use the log's own key (C2SP names a log's key after its origin)", name, j.Origin())
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if s, err := j.LastSigned(); err != nil || s != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(j.Dir(), "checkpoint")); err == nil {
		return nil
	}
	if !journal.ValidOrigin(name) {
		return nil
	}
	return j.SetOrigin(c.ctx, name)
}
