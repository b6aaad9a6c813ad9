package journal_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/journal"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)

	j, err := journal.Open(filepath.Join(dir, "audit"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	for _, event := range []string{"login alice", "sudo alice", "logout alice"} {
		// Append returns once the record is on disk.
		i, err := j.Append(ctx, []byte(event))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(i, event)
	}
	for r, err := range j.Scan(1) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("read %d %s\n", r.Index, r.Payload)
	}
	// Output:
	// 0 login alice
	// 1 sudo alice
	// 2 logout alice
	// read 1 sudo alice
	// read 2 logout alice
}

func ExampleJournal_Checkpoint() {
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// Once: make a key pair. Keep the private key away from the log's
	// machine if you can; give the public key to whoever verifies.
	skey, vkey, err := note.GenerateKey(rand.Reader, "audit.example.com")
	if err != nil {
		log.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)

	j, err := journal.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	j.AppendBatch(ctx, [][]byte{[]byte("deploy v1"), []byte("deploy v2")})
	cp, err := j.Checkpoint(ctx, signer)
	if err != nil {
		log.Fatal(err)
	}
	j.Close()
	// The checkpoint is a signed note; keep a copy somewhere else too.
	lines := strings.Split(string(cp), "\n")
	fmt.Println(strings.HasPrefix(lines[0], "durable-journal/"), lines[1])

	rep, err := journal.Verify(ctx, dir, &journal.VerifyOptions{Verifier: verifier, Remembered: cp})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Size, "records verified against a checkpoint signed by", rep.Checkpoint.Signers[0])
	// Output:
	// true 2
	// 2 records verified against a checkpoint signed by audit.example.com
}

func ExampleJournal_InclusionProof() {
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	j, _ := journal.Open(dir, nil)
	defer j.Close()
	for i := range 10 {
		j.Append(ctx, fmt.Appendf(nil, "event %d", i))
	}
	size, root, _ := j.Head(ctx)
	rec, _ := j.Record(ctx, 6)
	proof, _ := j.InclusionProof(ctx, 6, size)
	fmt.Println(len(proof), journal.VerifyInclusion(rec.LeafHash(), 6, size, proof, root))

	old, _ := j.RootAt(ctx, 4)
	cproof, _ := j.ConsistencyProof(ctx, 4, size)
	fmt.Println(journal.VerifyConsistency(4, size, old, root, cproof))
	// Output:
	// 4 <nil>
	// <nil>
}

func ExampleVerify() {
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)
	j, _ := journal.Open(dir, nil)
	j.Append(context.Background(), []byte("hello"))
	j.Close()

	rep, err := journal.Verify(context.Background(), dir, nil)
	fmt.Println(rep.Size, err)
	fmt.Println(rep.Warnings[0])
	// Output:
	// 1 <nil>
	// no checkpoint: a rewritten or truncated log cannot be told from a genuine one (run Checkpoint)
}
