package zkhealth

// This file is PROOF.json: a proof's bytes with the circuit, backend and verifying-key fingerprint
// it was made for, the public values it claims, and the as-of date and scope.
//
// A verifier must never trust the Public block: it rebuilds the public witness from its own
// policy, request and issuer registry, and uses the block only to say which value differs. Proof
// bytes are re-randomisable, so they are never an identifier: the nullifier is.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/zkhealth/zkhealth/internal/strictjson"
)

// ProofVersion is the PROOF.json format version.
const ProofVersion = 1

// MaxProofSize bounds a PROOF.json read from anywhere.
const MaxProofSize = 16 << 10

// ErrMalformedProof marks a PROOF.json that does not parse.
var ErrMalformedProof = errors.New("malformed proof file")

// ProofPublic is the public input a proof claims, as 0x-hex field elements (issuer: compressed key hex).
type ProofPublic struct {
	PolicyHash string `json:"policy_hash"`
	Issuer     string `json:"issuer"`
	Challenge  string `json:"challenge"`
	Nullifier  string `json:"nullifier"`
}

// ProofFile is PROOF.json.
type ProofFile struct {
	Version       int         `json:"version"`
	Circuit       string      `json:"circuit"`
	Backend       string      `json:"backend"`
	VKFingerprint string      `json:"vk_fingerprint"`
	Proof         string      `json:"proof"`
	Public        ProofPublic `json:"public"`
	AsOf          string      `json:"as_of"`
	Scope         string      `json:"scope"`
}

// ParseProof reads PROOF.json strictly: size-limited, one object, unknown fields refused, version known,
// proof bytes valid base64. It does not decode the proof itself (package checked does).
func ParseProof(data []byte) (*ProofFile, error) {
	if len(data) > MaxProofSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformedProof, MaxProofSize)
	}
	var f ProofFile
	if err := strictjson.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedProof, err)
	}
	if err := f.Check(); err != nil {
		return nil, err
	}
	return &f, nil
}

// Check validates the fields Parse validates, for a File decoded as part of a larger document.
func (f *ProofFile) Check() error {
	if f.Version != ProofVersion {
		return fmt.Errorf("%w: version %d (want %d)", ErrMalformedProof, f.Version, ProofVersion)
	}
	if _, err := f.Bytes(); err != nil {
		return err
	}
	return nil
}

// Bytes decodes the proof bytes.
func (f *ProofFile) Bytes() ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(f.Proof)
	if err != nil {
		return nil, fmt.Errorf("%w: proof: not base64", ErrMalformedProof)
	}
	return b, nil
}

// Marshal renders PROOF.json, indented.
func (f *ProofFile) Marshal() ([]byte, error) { return json.MarshalIndent(f, "", "  ") }
