package journal

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Cosignatures (https://c2sp.org/tlog-cosignature): a witness signs
//
//	cosignature/v1\ntime <unix seconds>\n<checkpoint text>
//
// with Ed25519, and the signature line carries the time (8 bytes,
// big-endian) and the signature; the key's algorithm byte is 0x04.

const algCosignatureV1 = 0x04

func cosignedMessage(t uint64, msg []byte) ([]byte, error) {
	if _, err := parseCheckpointText(string(msg)); err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", t, msg), nil
}

func cosignKeyHash(name string, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

type cosigVerifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return v.hash }
func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	m, err := cosignedMessage(binary.BigEndian.Uint64(sig), msg)
	return err == nil && ed25519.Verify(v.key, m, sig[8:])
}

// NewCosignatureVerifier parses a witness's verifier key
// ("<name>+<hash>+<base64 of 0x04 and the Ed25519 public key>") into a
// verifier of its cosignatures. A plain Ed25519 note key (0x01) is accepted
// too, for witnesses that sign checkpoints as ordinary notes.
func NewCosignatureVerifier(vkey string) (note.Verifier, error) {
	name, rest, _ := strings.Cut(vkey, "+")
	hash16, key64, _ := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("malformed verifier key %q", vkey)
	}
	if key[0] != algCosignatureV1 {
		return note.NewVerifier(vkey)
	}
	h, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil || len(hash16) != 8 || !ValidOrigin(name) || len(key) != 1+ed25519.PublicKeySize {
		return nil, fmt.Errorf("malformed verifier key %q", vkey)
	}
	if uint32(h) != cosignKeyHash(name, key) {
		return nil, fmt.Errorf("verifier key %q: the key hash does not match", vkey)
	}
	return &cosigVerifier{name: name, hash: uint32(h), key: ed25519.PublicKey(key[1:])}, nil
}

type cosigSigner struct {
	cosigVerifier
	priv ed25519.PrivateKey
	now  func() time.Time
}

func (s *cosigSigner) Sign(msg []byte) ([]byte, error) {
	t := uint64(s.now().Unix())
	m, err := cosignedMessage(t, msg)
	if err != nil {
		return nil, err
	}
	sig := binary.BigEndian.AppendUint64(nil, t)
	return append(sig, ed25519.Sign(s.priv, m)...), nil
}

// GenerateWitnessKey makes a witness's cosigning key pair named name:
// skey for NewCosignatureSigner, vkey for NewCosignatureVerifier.
func GenerateWitnessKey(rand io.Reader, name string) (skey, vkey string, err error) {
	if !ValidOrigin(name) {
		return "", "", fmt.Errorf("invalid witness name %q", name)
	}
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return "", "", err
	}
	pk := append([]byte{algCosignatureV1}, pub...)
	h := cosignKeyHash(name, pk)
	sk := append([]byte{algCosignatureV1}, priv.Seed()...)
	skey = fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, h, base64.StdEncoding.EncodeToString(sk))
	vkey = fmt.Sprintf("%s+%08x+%s", name, h, base64.StdEncoding.EncodeToString(pk))
	return skey, vkey, nil
}

// NewCosignatureSigner parses a key from GenerateWitnessKey into a
// note.Signer that makes tlog-cosignature/v1 cosignatures.
func NewCosignatureSigner(skey string) (note.Signer, error) {
	rest, ok := strings.CutPrefix(skey, "PRIVATE+KEY+")
	name, rest, _ := strings.Cut(rest, "+")
	hash16, key64, _ := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.DecodeString(key64)
	if !ok || err != nil || len(key) != 1+ed25519.SeedSize || key[0] != algCosignatureV1 {
		return nil, errors.New("malformed witness signing key")
	}
	priv := ed25519.NewKeyFromSeed(key[1:])
	pk := append([]byte{algCosignatureV1}, priv.Public().(ed25519.PublicKey)...)
	h := cosignKeyHash(name, pk)
	if hash16 != fmt.Sprintf("%08x", h) || !ValidOrigin(name) {
		return nil, errors.New("malformed witness signing key")
	}
	return &cosigSigner{cosigVerifier: cosigVerifier{name: name, hash: h, key: priv.Public().(ed25519.PublicKey)}, priv: priv, now: time.Now}, nil
}

// parseCheckpointText parses the text of a checkpoint strictly, as a
// witness must: an origin, a decimal size, a base64 root, optional
// extension lines, each line ending in a newline.
func parseCheckpointText(text string) (*Checkpoint, error) {
	if !strings.HasSuffix(text, "\n") {
		return nil, errors.New("checkpoint text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 || lines[0] == "" {
		return nil, errors.New("checkpoint has fewer than three lines")
	}
	c := &Checkpoint{Origin: lines[0]}
	n, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != lines[1] {
		return nil, fmt.Errorf("checkpoint tree size %q", lines[1])
	}
	c.Size = n
	if c.Root, err = decodeHash(lines[2]); err != nil {
		return nil, fmt.Errorf("checkpoint root hash %q", lines[2])
	}
	for _, l := range lines[3:] {
		if l == "" {
			return nil, errors.New("empty extension line")
		}
	}
	return c, nil
}
