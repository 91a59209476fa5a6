// Package holder is the patient's side of a credential: a 32-byte secret, the commitment an issuer
// binds a credential to, and the per-scope nullifier. The secret never leaves the holder's process
// except to a prover the holder chooses (the local CLI, or the service over TLS).
package holder

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/fieldhash"

	"github.com/zkhealth/zkhealth/internal/strictjson"
)

// Key is a holder's secret with its commitment.
type Key struct {
	secret [32]byte
}

// File is HOLDER.key.
type File struct {
	Secret     string `json:"secret"`
	Commitment string `json:"commitment"`
}

// ErrMalformed marks a malformed holder key or secret.
var ErrMalformed = errors.New("malformed holder key")

// Generate makes a new holder key from rnd (crypto/rand when nil).
func Generate(rnd io.Reader) (*Key, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var k Key
	if _, err := io.ReadFull(rnd, k.secret[:]); err != nil {
		return nil, fmt.Errorf("generate holder secret: %w", err)
	}
	return &k, nil
}

// FromSecretHex reads a holder secret: exactly 32 bytes of hex, with or without 0x.
func FromSecretHex(s string) (*Key, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%w: secret must be 32 bytes of hex", ErrMalformed)
	}
	var k Key
	copy(k.secret[:], b)
	return &k, nil
}

// Element is the secret as a field element (reduced modulo the scalar field).
func (k *Key) Element() fr.Element {
	e, _ := fieldhash.SecretElement(k.secret[:]) // 32 bytes by construction
	return e
}

// Commitment is H(TagHolder, secret): what an issuer writes into the credential.
func (k *Key) Commitment() fr.Element { return fieldhash.HolderCommitment(k.Element()) }

// Nullifier is H(TagNullifier, secret, scope) for the scope's field element.
func (k *Key) Nullifier(scope fr.Element) fr.Element { return fieldhash.Nullifier(k.Element(), scope) }

// SecretHex is the secret in lower-case hex (for HOLDER.key and the service's holder_secret).
func (k *Key) SecretHex() string { return hex.EncodeToString(k.secret[:]) }

// MarshalJSON renders HOLDER.key.
func (k *Key) MarshalJSON() ([]byte, error) {
	return json.MarshalIndent(File{Secret: k.SecretHex(), Commitment: fieldhash.Hex(k.Commitment())}, "", "  ")
}

// Parse reads HOLDER.key and checks that the commitment matches the secret.
func Parse(data []byte) (*Key, error) {
	var f File
	if err := strictjson.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	k, err := FromSecretHex(f.Secret)
	if err != nil {
		return nil, err
	}
	if f.Commitment != "" {
		c, err := fieldhash.ParseHex(f.Commitment)
		if err != nil {
			return nil, fmt.Errorf("%w: commitment: %v", ErrMalformed, err)
		}
		if want := k.Commitment(); !c.Equal(&want) {
			return nil, fmt.Errorf("%w: commitment does not match the secret", ErrMalformed)
		}
	}
	return k, nil
}
