package jsonl_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/jsonl"
)

// A session transcript: every Append returns once its line is on disk, and
// the file stays plain JSON Lines for jq, tail -f and the next session.
func Example() {
	dir, err := os.MkdirTemp("", "jsonl-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "session.jsonl")

	type message struct {
		Role string `json:"role"`
		Text string `json:"text"`
	}
	f, err := jsonl.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := f.Append(ctx, message{"user", "hello\nthere"}); err != nil {
		log.Fatal(err)
	}
	if err := f.AppendRaw(ctx, []byte(`{"role": "assistant", "text": "hi"}`)); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}

	for line, err := range jsonl.Scan(path) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(line))
	}
	// Output:
	// {"role":"user","text":"hello\nthere"}
	// {"role": "assistant", "text": "hi"}
}

// A crash left half a line and zero bytes at the end of the file. Open cuts
// them off, after saving them to an evidence file beside it, and appending
// goes on at a line boundary.
func ExampleOpen_repair() {
	dir, err := os.MkdirTemp("", "jsonl-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "events.jsonl")
	torn := "{\"seq\":1}\n{\"seq\":2,\"te\x00\x00\x00"
	if err := os.WriteFile(path, []byte(torn), 0o600); err != nil {
		log.Fatal(err)
	}

	f, err := jsonl.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	rep := f.Report()
	fmt.Printf("cut %d bytes at offset %d (line %d)\n", rep.CutBytes, rep.CutOffset, rep.CutLine)
	saved, _ := os.ReadFile(rep.Evidence)
	fmt.Printf("saved %q\n", saved)

	if err := f.Append(context.Background(), map[string]int{"seq": 3}); err != nil {
		log.Fatal(err)
	}
	f.Close()
	data, _ := os.ReadFile(path)
	fmt.Print(string(data))
	// Output:
	// cut 15 bytes at offset 10 (line 2)
	// saved "{\"seq\":2,\"te\x00\x00\x00"
	// {"seq":1}
	// {"seq":3}
}

// A corrupt line in the middle is not a torn tail: Open refuses, says
// where, and changes nothing, unless AllowCorrupt says to append anyway.
func ExampleOptions_allowCorrupt() {
	dir, err := os.MkdirTemp("", "jsonl-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.jsonl")
	if err := os.WriteFile(path, []byte("{\"a\":1}\n{\"a\":2}{\"a\":3}\n{\"a\":4}\n"), 0o600); err != nil {
		log.Fatal(err)
	}

	_, err = jsonl.Open(path, nil)
	var ce *jsonl.CorruptError
	if errors.Is(err, durable.ErrCorrupt) && errors.As(err, &ce) {
		fmt.Printf("refused: line %d at byte %d\n", ce.Line, ce.Offset)
	}

	f, err := jsonl.Open(path, &jsonl.Options{AllowCorrupt: true})
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fmt.Println("corrupt lines left in place:", f.Report().CorruptLines)
	if err := f.Append(context.Background(), map[string]int{"a": 5}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// refused: line 2 at byte 8
	// corrupt lines left in place: 1
}

// Repair is what "durable jsonl repair" runs.
func ExampleRepair() {
	dir, err := os.MkdirTemp("", "jsonl-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "log.jsonl")
	if err := os.WriteFile(path, []byte("[1]\n[2]\n[3"), 0o600); err != nil {
		log.Fatal(err)
	}
	rep, err := jsonl.Repair(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Lines, "lines kept;", rep.CutBytes, "bytes cut:", rep.Excerpt)
	// Output:
	// 2 lines kept; 2 bytes cut: "[3"
}
