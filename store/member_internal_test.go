package store

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
)

type memberRec struct {
	Name string `json:"name"`
	Hits int    `json:"hits"`
}

type memberDoc struct {
	Entries map[string]memberRec `json:"entries"`
}

// In log mode, UpdateMember of a member that is there takes the
// shortcut (applyMember handles it), and one that is not takes Update's
// path: the differential tests would pass without the shortcut, so this
// one checks that it runs.
func TestApplyMemberTakesTheShortcut(t *testing.T) {
	s, err := Open(filepath.Join(testdir.New(t), "doc.json"), &Options[memberDoc]{Log: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Update(ctx, func(d *memberDoc) error {
		d.Entries = map[string]memberRec{}
		for i := range 1000 {
			d.Entries[fmt.Sprint(i)] = memberRec{Name: fmt.Sprint(i)}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	idx, mt, err := memberField(reflect.TypeFor[memberDoc](), "entries", reflect.TypeFor[memberRec]())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key  string
		want bool
	}{{"7", true}, {"new", false}} {
		ran := false
		r := &request[memberDoc]{s: s, ctx: ctx, member: &memberOp{field: idx, key: reflect.ValueOf(c.key).Convert(mt.Key()), fn: func(e reflect.Value) error {
			ran = true
			e.Addr().Interface().(*memberRec).Hits++
			return nil
		}}}
		s.log.mu.Lock()
		if err := s.logReady(0); err != nil {
			s.log.mu.Unlock()
			t.Fatal(err)
		}
		handled, err := s.applyMember(s.st, r)
		st := s.st
		s.st = nil // the change is in no log: read it all again
		s.log.mu.Unlock()
		if err != nil || handled != c.want || ran != c.want || r.changed != c.want {
			t.Fatalf("key %q: handled %v, ran %v, changed %v, err %v; want %v", c.key, handled, ran, r.changed, err, c.want)
		}
		if c.want && st.val.Interface().(memberDoc).Entries[c.key].Hits != 1 {
			t.Fatalf("key %q: the member did not change", c.key)
		}
	}
}
