package credential

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
)

// IssuerKey is an issuer's EdDSA key pair on BN254's twisted Edwards curve.
type IssuerKey struct {
	priv *eddsa.PrivateKey
}

// privateKeySize is the length of a serialised private key: public key ‖ scalar ‖ nonce seed.
const privateKeySize = 96

// IssuerKeyFile is ISSUER.key.
type IssuerKeyFile struct {
	PrivateKey string `json:"private_key"`
	PublicKey  string `json:"public_key"`
}

// GenerateIssuerKey makes a new issuer key from rnd (crypto/rand when nil).
func GenerateIssuerKey(rnd io.Reader) (*IssuerKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	k, err := eddsa.GenerateKey(rnd)
	if err != nil {
		return nil, fmt.Errorf("generate issuer key: %w", err)
	}
	return &IssuerKey{priv: k}, nil
}

// Public returns the public key.
func (k *IssuerKey) Public() eddsa.PublicKey { return k.priv.PublicKey }

// PublicHex is the compressed public key as lower-case hex (64 digits).
func (k *IssuerKey) PublicHex() string { return PublicKeyHex(k.priv.PublicKey) }

// PublicKeyHex renders a public key as its compressed form in lower-case hex.
func PublicKeyHex(pk eddsa.PublicKey) string { return hex.EncodeToString(pk.Bytes()) }

// ParsePublicKey reads a compressed public key in hex (with or without 0x); the encoding must be
// canonical (y below the field modulus) and the point on the curve and in the prime-order subgroup.
func ParsePublicKey(s string) (eddsa.PublicKey, error) {
	var pk eddsa.PublicKey
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != 32 {
		return pk, fmt.Errorf("want 32 bytes of hex")
	}
	if _, err := pk.SetBytes(b); err != nil {
		return pk, fmt.Errorf("not a valid issuer public key: %v", err)
	}
	// SetBytes reduces y modulo p, so y + p would be a second spelling of the same key.
	if !bytes.Equal(pk.Bytes(), b) {
		return pk, fmt.Errorf("not a valid issuer public key: not in canonical form")
	}
	if !pk.A.IsInSubGroup() || pk.A.IsZero() {
		return pk, fmt.Errorf("not a valid issuer public key: not in the prime-order subgroup")
	}
	return pk, nil
}

// MarshalJSON renders ISSUER.key.
func (k *IssuerKey) MarshalJSON() ([]byte, error) {
	return json.MarshalIndent(IssuerKeyFile{PrivateKey: hex.EncodeToString(k.priv.Bytes()), PublicKey: k.PublicHex()}, "", "  ")
}

// ParseIssuerKey reads ISSUER.key and checks that the public key matches the private key.
func ParseIssuerKey(data []byte) (*IssuerKey, error) {
	var f IssuerKeyFile
	if err := strictUnmarshal(data, &f); err != nil {
		return nil, jsonFieldErr("", err)
	}
	b, err := hex.DecodeString(strings.TrimPrefix(f.PrivateKey, "0x"))
	if err != nil {
		return nil, fieldErr("private_key", ReasonMalformed, fmt.Sprintf("%d bytes of hex", privateKeySize))
	}
	// gnark-crypto's SetBytes panics on a buffer longer than a key: check the length first.
	if len(b) != privateKeySize {
		return nil, fieldErr("private_key", ReasonMalformed, fmt.Sprintf("%d bytes of hex", privateKeySize))
	}
	priv := new(eddsa.PrivateKey)
	if n, err := priv.SetBytes(b); err != nil || n != len(b) {
		return nil, fieldErr("private_key", ReasonMalformed, "an issuer private key")
	}
	k := &IssuerKey{priv: priv}
	if strings.TrimPrefix(f.PublicKey, "0x") != k.PublicHex() {
		return nil, fieldErr("public_key", ReasonMismatch, "the public key of private_key")
	}
	return k, nil
}

// WriteKeyFile writes data to path with mode 0600, refusing to replace an existing file.
func WriteKeyFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	return f.Close()
}
