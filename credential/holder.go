package credential

// This file is the patient's side of a credential: a 32-byte holder secret, the commitment an
// issuer binds a credential to, and the per-scope nullifier. The secret never leaves the holder's
// process except to a prover the holder chooses (the local CLI, the browser wallet, or the service
// over TLS).

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/internal/fieldhash"

	"github.com/zkhealth/zkhealth/internal/strictjson"
)

// HolderKey is a holder's secret with its commitment.
type HolderKey struct {
	secret [32]byte
}

// HolderKeyFile is HOLDER.key.
type HolderKeyFile struct {
	Secret     string `json:"secret"`
	Commitment string `json:"commitment"`
}

// ErrMalformedHolderKey marks a malformed holder key or secret.
var ErrMalformedHolderKey = errors.New("malformed holder key")

// GenerateHolderKey makes a new holder key from rnd (crypto/rand when nil).
func GenerateHolderKey(rnd io.Reader) (*HolderKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var k HolderKey
	if _, err := io.ReadFull(rnd, k.secret[:]); err != nil {
		return nil, fmt.Errorf("generate holder secret: %w", err)
	}
	return &k, nil
}

// HolderKeyFromHex reads a holder secret: exactly 32 bytes of hex, with or without 0x.
func HolderKeyFromHex(s string) (*HolderKey, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%w: secret must be 32 bytes of hex", ErrMalformedHolderKey)
	}
	var k HolderKey
	copy(k.secret[:], b)
	return &k, nil
}

// Element is the secret as a field element (reduced modulo the scalar field).
func (k *HolderKey) Element() fr.Element {
	e, _ := fieldhash.SecretElement(k.secret[:]) // 32 bytes by construction
	return e
}

// Commitment is H(TagHolder, secret): what an issuer writes into the credential.
func (k *HolderKey) Commitment() fr.Element { return fieldhash.HolderCommitment(k.Element()) }

// Nullifier is H(TagNullifier, secret, scope) for the scope's field element.
func (k *HolderKey) Nullifier(scope fr.Element) fr.Element {
	return fieldhash.Nullifier(k.Element(), scope)
}

// SecretHex is the secret in lower-case hex (for HOLDER.key and the service's holder_secret).
func (k *HolderKey) SecretHex() string { return hex.EncodeToString(k.secret[:]) }

// MarshalJSON renders HOLDER.key.
func (k *HolderKey) MarshalJSON() ([]byte, error) {
	return json.MarshalIndent(HolderKeyFile{Secret: k.SecretHex(), Commitment: fieldhash.Hex(k.Commitment())}, "", "  ")
}

// ParseHolderKey reads HOLDER.key and checks that the commitment matches the secret.
func ParseHolderKey(data []byte) (*HolderKey, error) {
	var f HolderKeyFile
	if err := strictjson.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedHolderKey, err)
	}
	k, err := HolderKeyFromHex(f.Secret)
	if err != nil {
		return nil, err
	}
	if f.Commitment != "" {
		c, err := fieldhash.ParseHex(f.Commitment)
		if err != nil {
			return nil, fmt.Errorf("%w: commitment: %v", ErrMalformedHolderKey, err)
		}
		if want := k.Commitment(); !c.Equal(&want) {
			return nil, fmt.Errorf("%w: commitment does not match the secret", ErrMalformedHolderKey)
		}
	}
	return k, nil
}
