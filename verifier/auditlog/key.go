package auditlog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// MaxOrigin bounds a log's origin (its checkpoints' first line and its key's name).
const MaxOrigin = 128

// ErrKey is wrapped by the errors of a key that does not parse or does not fit its log.
var ErrKey = errors.New("verification log key")

// ValidOrigin reports whether origin can name a log: 1 to MaxOrigin characters of A–Z, a–z,
// 0–9 and . _ ~ : / - (a schema-less URL, as C2SP tlog-checkpoint recommends; no space or '+',
// which a signed-note key name cannot hold).
func ValidOrigin(origin string) bool {
	if len(origin) == 0 || len(origin) > MaxOrigin {
		return false
	}
	for _, c := range origin {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._~:/-", c)) {
			return false
		}
	}
	return true
}

// Key is a log's signing key: an Ed25519 signed-note signer key (golang.org/x/mod/sumdb/note)
// whose name is the log's origin. Its verifier key ("origin+hash+base64", VerifierKey) is
// public: it is what anyone checking the log's checkpoints needs.
type Key struct {
	skey   string
	signer note.Signer
	vkey   string
}

// GenerateKey makes a fresh key for the origin.
func GenerateKey(origin string) (*Key, error) {
	if !ValidOrigin(origin) {
		return nil, fmt.Errorf("%w: origin: want 1 to %d of A-Z a-z 0-9 . _ ~ : / -", ErrKey, MaxOrigin)
	}
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return ParseKey([]byte(skey))
}

// ParseKey reads a key as MarshalText writes it (the signer key, optionally followed by a
// newline).
func ParseKey(text []byte) (*Key, error) {
	skey := strings.TrimSuffix(string(text), "\n")
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("%w: not a signed-note signer key", ErrKey)
	}
	if !ValidOrigin(signer.Name()) {
		return nil, fmt.Errorf("%w: its name is not a valid origin", ErrKey)
	}
	// PRIVATE+KEY+name+hash+base64(0x01 ‖ seed): NewSigner checked the form and the hash.
	parts := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return nil, fmt.Errorf("%w: not an Ed25519 key", ErrKey)
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return &Key{skey: skey, signer: signer, vkey: vkey}, nil
}

// MarshalText returns the signer key and a newline: secret, keep it 0600.
func (k *Key) MarshalText() ([]byte, error) { return []byte(k.skey + "\n"), nil }

// Origin is the log's origin, the key's name.
func (k *Key) Origin() string { return k.signer.Name() }

// VerifierKey is the public verifier key, "origin+hash+base64": `zkhealth log verify --key`.
func (k *Key) VerifierKey() string { return k.vkey }

// Signer signs checkpoints.
func (k *Key) Signer() note.Signer { return k.signer }

// ParseVerifierKey reads a signed-note verifier key ("origin+hash+base64") whose name is a valid
// origin.
func ParseVerifierKey(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil || !ValidOrigin(v.Name()) {
		return nil, fmt.Errorf("%w: not a signed-note verifier key of a log", ErrKey)
	}
	return v, nil
}

// LoadOrCreateKey reads the key file at path, or creates it (mode 0600, refusing to replace a
// file that appears meanwhile: then that one is read) with a fresh key for origin. When origin is
// not empty, a key with another origin is refused: a log keeps its origin for life. created
// reports whether this call made the key.
func LoadOrCreateKey(path, origin string) (k *Key, created bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if origin == "" {
			return nil, false, fmt.Errorf("%w: %s does not exist and no origin was given to create it", ErrKey, path)
		}
		if k, err = GenerateKey(origin); err != nil {
			return nil, false, err
		}
		text, _ := k.MarshalText()
		if err = writeNew(path, text); err == nil {
			return k, true, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, false, err
		}
		// another process sharing the directory created it first: use that one
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("log key: %w", err)
	}
	if k, err = ParseKey(bytes.TrimSpace(data)); err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	if origin != "" && k.Origin() != origin {
		return nil, false, fmt.Errorf("%w: %s names the origin %q, not %q: a log keeps its origin", ErrKey, path, k.Origin(), origin)
	}
	return k, false, nil
}

// writeNew writes a new file (0600) completely or not at all: through a temporary file linked
// into place, which fails with fs.ErrExist when the file exists.
func writeNew(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".log-key-*")
	if err != nil {
		return fmt.Errorf("log key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("log key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("log key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("log key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("log key: %w", err)
	}
	return nil
}
