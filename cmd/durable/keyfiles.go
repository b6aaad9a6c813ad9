package main

import (
	"fmt"
	"strings"

	"github.com/durable-go/durable"
)

// writeKeyPair stores a new signing key as NAME.key (0600) and its public
// half as NAME.pub, refusing to overwrite either: a key replaced by
// mistake orphans everything it signed.
func (c *cli) writeKeyPair(name, skey, vkey, what string) int {
	if err := durable.WriteFile(name+".key", []byte(skey+"\n"), 0o600, durable.NoClobber()); err != nil {
		return c.fail(err, false)
	}
	if err := durable.WriteFile(name+".pub", []byte(vkey+"\n"), 0o644, durable.NoClobber()); err != nil {
		return c.fail(err, false)
	}
	fmt.Fprintf(c.stdout, "%s.key: %s (keep it secret)\n%s.pub: %s\n", name, what, name, vkey)
	return exitOK
}

// readKeyFile parses the key that 'durable log keygen' stored at path.
func readKeyFile[K any](path string, parse func(string) (K, error), what string) (K, error) {
	var zero K
	b, err := durable.ReadFile(path)
	if err != nil {
		return zero, err
	}
	k, err := parse(strings.TrimSpace(string(b)))
	if err != nil {
		return zero, fmt.Errorf("%s: not a %s from 'durable log keygen': %w", path, what, err)
	}
	return k, nil
}
