package store_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/durable-go/durable/store"
)

// Log mode: each Update appends a merge patch of its change to
// state.json.patchlog, and Close folds the patches into state.json, which
// stays the readable snapshot.
func ExampleOptions_log() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "state.json")

	type State struct {
		Hits map[string]int `json:"hits"`
	}
	s, err := store.Open(path, &store.Options[State]{Log: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, page := range []string{"/", "/about", "/"} {
		_, err := s.Update(context.Background(), func(st *State) error {
			if st.Hits == nil {
				st.Hits = map[string]int{}
			}
			st.Hits[page]++
			return nil
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	if err := s.Close(); err != nil { // compacts
		log.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	fmt.Print(string(data))
	// Output:
	// {
	//   "hits": {
	//     "/": 2,
	//     "/about": 1
	//   }
	// }
}
