package durable

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/durable-go/durable/internal/follow"
)

// Temp files are named ".<target>.<token>.tmp": hidden, beside the target so
// the rename never crosses filesystems, and recognisable so that CleanTemp
// removes only files this package made. The token is 12 characters of
// lower-case base32, 60 random bits, so concurrent writers never collide.
const (
	tempSuffix   = ".tmp"
	tokenLen     = 12
	tokenChars   = "abcdefghijklmnopqrstuvwxyz234567"
	maxTempStem  = 200 // leaves room for the token within a 255-byte name
	tempAttempts = 100
)

func tempName(base string) string {
	if len(base) > maxTempStem {
		cut := maxTempStem
		for cut > 0 && !utf8.RuneStart(base[cut]) {
			cut--
		}
		base = base[:cut]
	}
	var tok [tokenLen]byte
	r := rand.Uint64()
	for i := range tok {
		tok[i] = tokenChars[r&31]
		r >>= 5
	}
	return "." + base + "." + string(tok[:]) + tempSuffix
}

// isTempName reports whether name has the shape of a temp file of ours.
func isTempName(name string) bool {
	if !strings.HasPrefix(name, ".") || !strings.HasSuffix(name, tempSuffix) {
		return false
	}
	rest := strings.TrimSuffix(name[1:], tempSuffix)
	if len(rest) < tokenLen+2 || rest[len(rest)-tokenLen-1] != '.' {
		return false
	}
	for _, c := range []byte(rest[len(rest)-tokenLen:]) {
		if strings.IndexByte(tokenChars, c) < 0 {
			return false
		}
	}
	return true
}

// CleanTemp removes the temp files that writes in dir left behind when their
// process died before publishing, if they were last modified more than
// olderThan ago, and returns their paths. It removes nothing but regular
// files named like this package's temp files (".name.<token>.tmp"). Pick
// olderThan longer than any write in progress can take: a minute is plenty
// for small files.
func CleanTemp(dir string, olderThan time.Duration, opts ...Option) ([]string, error) {
	o := collect(opts)
	// Never another user's link planted in a shared directory: that
	// would let them choose where files are removed.
	if err := follow.Dir(o.fs, dir); err != nil {
		return nil, &fs.PathError{Op: "clean", Path: dir, Err: err}
	}
	entries, err := o.fs.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	cutoff := time.Now().Add(-olderThan)
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTempName(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		if !info.ModTime().Before(cutoff) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := o.fs.Remove(p); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}
