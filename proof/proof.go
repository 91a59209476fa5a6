// Package proof is PROOF.json: a proof's bytes with the circuit, backend and verifying-key
// fingerprint it was made for, the public values it claims, and the as-of date and scope.
//
// A verifier must never trust the Public block: it rebuilds the public witness from its own
// policy, request and issuer registry, and uses the block only to say which value differs. Proof
// bytes are re-randomisable, so they are never an identifier: the nullifier is.
package proof

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/zkhealth/zkhealth/internal/strictjson"
)

// Version is the PROOF.json format version.
const Version = 1

// MaxSize bounds a PROOF.json read from anywhere.
const MaxSize = 16 << 10

// ErrMalformed marks a PROOF.json that does not parse.
var ErrMalformed = errors.New("malformed proof file")

// Public is the public input a proof claims, as 0x-hex field elements (issuer: compressed key hex).
type Public struct {
	PolicyHash string `json:"policy_hash"`
	Issuer     string `json:"issuer"`
	Challenge  string `json:"challenge"`
	Nullifier  string `json:"nullifier"`
}

// File is PROOF.json.
type File struct {
	Version       int    `json:"version"`
	Circuit       string `json:"circuit"`
	Backend       string `json:"backend"`
	VKFingerprint string `json:"vk_fingerprint"`
	Proof         string `json:"proof"`
	Public        Public `json:"public"`
	AsOf          string `json:"as_of"`
	Scope         string `json:"scope"`
}

// Parse reads PROOF.json strictly: size-limited, one object, unknown fields refused, version known,
// proof bytes valid base64. It does not decode the proof itself (package checked does).
func Parse(data []byte) (*File, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxSize)
	}
	var f File
	if err := strictjson.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := f.Check(); err != nil {
		return nil, err
	}
	return &f, nil
}

// Check validates the fields Parse validates, for a File decoded as part of a larger document.
func (f *File) Check() error {
	if f.Version != Version {
		return fmt.Errorf("%w: version %d (want %d)", ErrMalformed, f.Version, Version)
	}
	if _, err := f.Bytes(); err != nil {
		return err
	}
	return nil
}

// Bytes decodes the proof bytes.
func (f *File) Bytes() ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(f.Proof)
	if err != nil {
		return nil, fmt.Errorf("%w: proof: not base64", ErrMalformed)
	}
	return b, nil
}

// Marshal renders PROOF.json, indented.
func (f *File) Marshal() ([]byte, error) { return json.MarshalIndent(f, "", "  ") }
