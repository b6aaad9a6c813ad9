package jsonenctest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The family of types the differential fuzzer (drive.go) drives
// through the store. Go cannot make types with methods at run time, so the
// family is fixed and rich: every rule of encoding/json that the encoder
// models or must leave alone appears in it, and several of them read
// unexported state that an update may change unseen.

// fzLeaf is a plain record, the kind of value large maps hold.
type fzLeaf struct {
	N int     `json:"n"`
	S string  `json:"s,omitempty"`
	F float64 `json:"f"`
	B bool    `json:"b,omitzero"`
	Q int     `json:"q,string"`
	U uint16  `json:"u,omitempty"`
}

// fzOpt is omitted until set, which encoding/json never writes.
type fzOpt struct {
	V   int `json:"v"`
	set bool
}

func (o fzOpt) IsZero() bool { return !o.set }

// fzPOpt has a pointer-receiver IsZero reading unexported state.
type fzPOpt struct {
	N  string `json:"n"`
	on bool
}

func (o *fzPOpt) IsZero() bool { return o == nil || !o.on }

// fzPlain has no IsZero: omitzero then asks reflect, which reads mark.
type fzPlain struct {
	A int `json:"a"`
	//lint:ignore U1000 set through reflection by the mutator (mut.go)
	mark int8
}

// fzMarshal writes unexported state; 13 makes it fail and 666 panic.
type fzMarshal struct {
	v int
	s string
}

var errFzMarshal = errors.New("fzMarshal refuses 13")

func (m fzMarshal) MarshalJSON() ([]byte, error) {
	switch m.v {
	case 13:
		return nil, errFzMarshal
	case 666:
		panic("fzMarshal panics at 666")
	}
	return json.Marshal(struct {
		V int    `json:"v"`
		S string `json:"s"`
	}{m.v, m.s})
}

func (m *fzMarshal) UnmarshalJSON(b []byte) error {
	var w struct {
		V int    `json:"v"`
		S string `json:"s"`
	}
	err := json.Unmarshal(b, &w)
	m.v, m.s = w.V, w.S
	return err
}

// fzText is a map key written by MarshalText from unexported fields.
type fzText struct{ a, b int8 }

func (k fzText) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "%d~%d", k.a, k.b), nil }

func (k *fzText) UnmarshalText(b []byte) error {
	_, err := fmt.Sscanf(string(b), "%d~%d", &k.a, &k.b)
	return err
}

// fzPtrText is text through a pointer receiver reading a hidden field.
type fzPtrText struct {
	S      string
	hidden int8
}

func (p *fzPtrText) MarshalText() ([]byte, error) {
	return fmt.Appendf(nil, "%s|%d", p.S, p.hidden), nil
}

func (p *fzPtrText) UnmarshalText(b []byte) error {
	s := string(b)
	i := strings.LastIndexByte(s, '|')
	if i < 0 {
		p.S, p.hidden = s, 0
		return nil
	}
	n, err := strconv.ParseInt(s[i+1:], 10, 8)
	p.S, p.hidden = s[:i], int8(n)
	return err
}

// fzSection is a plain struct (an object to the encoder) with an IsZero.
type fzSection struct {
	Hidden bool              `json:"hidden"`
	Big    map[string]int    `json:"big"`
	Recs   map[string]fzLeaf `json:"recs,omitempty"`
}

func (s fzSection) IsZero() bool { return s.Hidden }

type fzItem struct {
	Name string
	O    fzOpt     `json:",omitzero"`
	P    *fzPOpt   `json:",omitzero"`
	Pl   fzPlain   `json:",omitzero"`
	T    time.Time `json:",omitzero"`
}

type FzBase struct {
	ID   int    `json:"id"`
	Kind string `json:"kind,omitempty"`
}

type fzHidden struct {
	Shown int `json:"shown"`
	//lint:ignore U1000 set through reflection by the mutator (mut.go)
	gone int
}

// fzDoc is an object at the root: the encoder keeps a tree for it.
type fzDoc struct {
	Title    string                        `json:"title"`
	Count    int64                         `json:"count,omitempty"`
	Flag     bool                          `json:"flag,string"`
	Ratio    float64                       `json:"ratio"`
	Tags     []string                      `json:"tags"`
	Tags2    []string                      `json:"tags2,omitempty"`
	Arr      [3]int8                       `json:"arr"`
	Bytes    []byte                        `json:"bytes,omitempty"`
	Raw      json.RawMessage               `json:"raw,omitempty"`
	When     time.Time                     `json:"when"`
	Any      any                           `json:"any"`
	Ptr      *fzLeaf                       `json:"ptr"`
	Inner    fzLeaf                        `json:"inner"`
	Small    map[string]fzLeaf             `json:"small"`
	Big      map[string]fzLeaf             `json:"big"`
	MM       map[string]map[string]int     `json:"mm"`
	MMP      map[string]map[string]*fzLeaf `json:"mmp,omitempty"`
	IntKeys  map[int]string                `json:"int_keys,omitempty"`
	TextKeys map[fzText]int                `json:"text_keys,omitempty"`
	PtrTexts map[string]fzPtrText          `json:"ptr_texts,omitempty"`
	Items    []fzItem                      `json:"items"`
	ItemMap  map[string]fzItem             `json:"item_map,omitempty"`
	Marsh    fzMarshal                     `json:"marsh"`
	MarshP   *fzMarshal                    `json:"marsh_p,omitempty"`
	Opt      fzOpt                         `json:"opt,omitzero"`
	POpt     *fzPOpt                       `json:"popt,omitzero"`
	Plain    fzPlain                       `json:"plain,omitzero"`
	Sec      fzSection                     `json:"sec,omitzero"`
	Hid      fzHidden                      `json:"hid"`
	Arrs     [2]fzItem                     `json:"arrs"`
	Skip     string                        `json:"-"`
	//lint:ignore U1000 set through reflection by the mutator (mut.go)
	hidden int
}

// fzEmbDoc embeds structs, so encoding/json flattens it: the encoder
// encodes it whole.
type fzEmbDoc struct {
	FzBase
	*fzHidden
	Sec   fzSection                    `json:"sec,omitzero"`
	Items []fzItem                     `json:"items"`
	M     map[string]fzLeaf            `json:"m"`
	Any   any                          `json:"any"`
	Raw   json.RawMessage              `json:"raw"`
	MM    map[string]map[string]fzLeaf `json:"mm"`
}

// fzNest is maps of maps of records around sections with IsZero.
type fzNest struct {
	M    map[string]map[string]fzLeaf `json:"m"`
	S    fzSection                    `json:"s,omitzero"`
	Ps   map[string]*fzSection        `json:"ps"`
	Note string                       `json:"note"`
	Any  map[string]any               `json:"any"`
}

// fzMMDoc is the shape of issue 17's first two bugs: a map of maps below
// the root, where both levels keep their encodings, and a section that
// hides a large map.
type fzMMDoc struct {
	M    map[string]map[string]int `json:"m"`
	Sec  fzSection                 `json:"sec,omitzero"`
	Note string                    `json:"note"`
}

// fzExactDoc has no hidden state (undo.go): the tree undoes its failed
// updates from its own snapshots, where the other types pay a deep copy.
// Its omitted members (Ptr, Count, Sub, MMP) are only ever zero.
type fzExactDoc struct {
	Title   string                        `json:"title"`
	Count   int64                         `json:"count,omitempty"`
	Flag    bool                          `json:"flag,string"`
	Ratio   float64                       `json:"ratio"`
	Tags    []string                      `json:"tags"`
	Arr     [3]int8                       `json:"arr"`
	Bytes   []byte                        `json:"bytes"`
	When    time.Time                     `json:"when"`
	Ptr     *fzLeaf                       `json:"ptr,omitempty"`
	Inner   fzLeaf                        `json:"inner"`
	Sub     fzExactSub                    `json:"sub,omitzero"`
	Small   map[string]fzLeaf             `json:"small"`
	Big     map[string]fzLeaf             `json:"big"`
	MM      map[string]map[string]int     `json:"mm"`
	MMP     map[string]map[string]*fzLeaf `json:"mmp,omitzero"`
	IntKeys map[int]string                `json:"int_keys"`
	Leaves  []fzLeaf                      `json:"leaves"`
	Sect    fzExactSub                    `json:"sect"`
}

type fzExactSub struct {
	A int
	P *string
	M map[string]int `json:",omitzero"`
	L []fzLeaf       `json:"l"`
}

// The roots the fuzzer picks from.
type (
	fzMapOfMaps = map[string]map[string]int
	fzItemMap   = map[string]fzItem
	fzItems     = []fzItem
	fzExactMap  = map[string]map[string]fzLeaf
)
