package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"

	"github.com/durable-go/durable/store"
)

type Settings struct {
	Theme   string         `json:"theme"`
	Recent  []string       `json:"recent,omitempty"`
	Windows map[string]int `json:"windows,omitempty"`
}

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "settings.json")
	// A file written by a newer version of the program, with a field this
	// one does not know.
	os.WriteFile(path, []byte(`{"theme": "dark", "font_size": 14}`), 0o644)

	s, err := store.Open(path, &store.Options[Settings]{
		Default: func() Settings { return Settings{Theme: "light"} },
	})
	if err != nil {
		log.Fatal(err)
	}
	settings, _, _ := s.Get()
	fmt.Println("theme:", settings.Theme)

	s.Update(context.Background(), func(s *Settings) error {
		s.Recent = append(s.Recent, "notes.txt")
		return nil
	})
	b, _ := os.ReadFile(path)
	fmt.Print(string(b))
	// Output:
	// theme: dark
	// {
	//   "theme": "dark",
	//   "recent": [
	//     "notes.txt"
	//   ],
	//   "font_size": 14
	// }
}

func ExampleStore_Update() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	s, err := store.Open(filepath.Join(dir, "state.json"), &store.Options[Settings]{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	// Goroutines (and other processes) update the same document; none of
	// their changes is lost, and concurrent ones share a write.
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			s.Update(ctx, func(s *Settings) error {
				if s.Windows == nil {
					s.Windows = map[string]int{}
				}
				s.Windows[fmt.Sprintf("w%d", i%3)]++
				return nil
			})
		})
	}
	wg.Wait()

	// An update that fails changes nothing, whatever it did before failing.
	_, err = s.Update(ctx, func(s *Settings) error {
		s.Windows["w0"] = 1000
		return errors.New("not today")
	})
	fmt.Println("error:", err)

	settings, _, _ := s.Get()
	fmt.Println(settings.Windows)
	// Output:
	// error: not today
	// map[w0:4 w1:3 w2:3]
}

func ExampleStore_Get_recovered() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "settings.json")
	s, _ := store.Open(path, &store.Options[Settings]{
		// Tell the user; without OnRecover it waits in s.Warnings().
		OnRecover: func(rec *store.RecoveredError) {
			fmt.Println("corrupt:", errors.Is(rec, store.ErrCorrupt))
			fmt.Println("recovered from:", filepath.Base(rec.Backup))
		},
	})
	s.Update(context.Background(), func(s *Settings) error { s.Theme = "dark"; return nil })
	s.Update(context.Background(), func(s *Settings) error { s.Theme = "solarized"; return nil })

	// Another program tears the file.
	os.WriteFile(path, []byte(`{"theme": "sol`), 0o644)

	// A recovery is not a failure: err is nil and settings is good.
	settings, _, err := s.Get()
	if err != nil {
		fmt.Println("failed:", err)
		return
	}
	damaged, _ := filepath.Glob(path + ".corrupt.*")
	fmt.Println("damaged copies kept:", len(damaged))
	fmt.Println("theme:", settings.Theme)
	// Output:
	// corrupt: true
	// recovered from: settings.json.bak.1
	// damaged copies kept: 1
	// theme: dark
}
