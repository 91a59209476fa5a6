// Package onchain puts zkhealth's Groth16 proofs on an EVM chain: it writes the Solidity verifier
// gnark exports for a circuit's verifying key and the claims contract (ClaimsRegistry) that uses
// it, and encodes a PROOF.json as their calldata.
//
// Guarantees: the verifier is gnark's own exporter's output, set to hash the BSB22 commitment with
// legacy Keccak-256, which is what package prover proves with and package verifier checks, so a
// proof made by `zkhealth prove` verifies off chain and on chain alike; by default its two pairing
// calls are folded into one by a random linear combination, as package verifier does (fold.go
// says how and why it is sound; WriteGnarkVerifier leaves gnark's output as it is). The calldata is the proof
// as (*groth16bn254.Proof).MarshalSolidity lays it out (384 bytes) and the five public inputs in
// circuit order (circuits.Public.Vector), ABI-encoded for the contracts' functions.
//
// Why this package lives at verifier/onchain, in the main module: it is the verifier's other half
// (it needs the verifying key, the public-input order and the checked proof decoder, nothing the
// service does not already link), and integrators import it to turn proofs into calldata, so it is
// not under internal/. It needs no Ethereum library: its ABI encoding is the few static layouts
// below. The test that deploys the contracts on go-ethereum's simulated chain is a module of its
// own (chaintest/), so the root go.mod never requires go-ethereum and its ≈180 modules.
package onchain

import (
	"bytes"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"text/template"

	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	gnarksolidity "github.com/consensys/gnark/backend/solidity"
	"github.com/consensys/gnark/logger"
	"golang.org/x/crypto/sha3"
)

// NbPublic is the number of public inputs the contracts take: request binding (policy hash), issuer
// X, issuer Y, challenge, nullifier. The commitment's hash is not passed: the verifier derives it.
const NbPublic = 5

// ProofSize is the length of a proof as verifyProof takes it: A (64 bytes), B (128, each Fp2
// coordinate imaginary part first), C (64), the commitment (64) and its proof of knowledge (64),
// big-endian and uncompressed.
const ProofSize = 384

// Pragma is the Solidity version range of the contracts written here. The tests compile them with
// solc 0.8.37.
const Pragma = "^0.8.24"

// The file names ExportSolidity writes.
const (
	VerifierFile       = "Verifier.sol"
	ClaimsRegistryFile = "ClaimsRegistry.sol"
)

// WriteVerifier writes the Solidity Groth16 verifier of vk (contract Verifier) to w: gnark's
// exporter's output with legacy Keccak-256 as the commitment's hash to field, and its two pairing
// calls in verifyProof folded into one (see foldCommitmentCheck: about 29,000 gas less per
// verification). vk must be a key of one of zkhealth's circuits: BN254, five public inputs and
// one commitment. gnark's logger is silenced during the export (and restored after): it would
// print an outdated warning about the hash on the process's stdout. gnark's exporter swaps fields
// of vk while it runs (and restores them): do not use vk concurrently.
func WriteVerifier(w io.Writer, vk groth16.VerifyingKey) error {
	src, err := exportVerifier(vk)
	if err != nil {
		return err
	}
	if src, err = foldCommitmentCheck(src); err != nil {
		return err
	}
	return write(w, src)
}

// WriteGnarkVerifier is WriteVerifier without the fold: gnark's exporter's output as it is, with
// a separate pairing call for the commitment's proof of knowledge.
func WriteGnarkVerifier(w io.Writer, vk groth16.VerifyingKey) error {
	src, err := exportVerifier(vk)
	if err != nil {
		return err
	}
	return write(w, src)
}

func exportVerifier(vk groth16.VerifyingKey) ([]byte, error) {
	bvk, ok := vk.(*groth16bn254.VerifyingKey)
	if !ok {
		return nil, fmt.Errorf("verifying key is a %T, not a BN254 Groth16 key", vk)
	}
	if n := len(bvk.PublicAndCommitmentCommitted); n != 1 {
		return nil, fmt.Errorf("verifying key has %d commitments, want 1", n)
	}
	if n := len(bvk.G1.K) - 1 - len(bvk.PublicAndCommitmentCommitted); n != NbPublic {
		return nil, fmt.Errorf("verifying key has %d public inputs, the contracts take %d", n, NbPublic)
	}
	prev := logger.Logger()
	logger.Disable()
	defer logger.Set(prev)
	var buf bytes.Buffer
	err := vk.ExportSolidity(&buf,
		gnarksolidity.WithHashToFieldFunction(sha3.NewLegacyKeccak256()),
		gnarksolidity.WithPragmaVersion(Pragma),
	)
	if err != nil {
		return nil, fmt.Errorf("export solidity verifier: %w", err)
	}
	return buf.Bytes(), nil
}

func write(w io.Writer, src []byte) error {
	if _, err := w.Write(src); err != nil {
		return fmt.Errorf("write solidity verifier: %w", err)
	}
	return nil
}

//go:embed ClaimsRegistry.sol.tmpl
var claimsRegistryTemplate string

// Circuit names what a claims contract is generated for.
type Circuit struct {
	ID            string // circuit id, e.g. coverage-v1
	VKFingerprint string // PROOF.json's vk_fingerprint: 64 hex digits
}

var circuitID = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,63}$`)

// WriteClaimsRegistry writes the claims contract (contract ClaimsRegistry, taking the address of
// the circuit's Verifier in its constructor) to w. The circuit id and fingerprint are checked
// before they are written into the source.
func WriteClaimsRegistry(w io.Writer, c Circuit) error {
	if !circuitID.MatchString(c.ID) {
		return fmt.Errorf("circuit id %q: want lower-case letters, digits, dots and dashes", c.ID)
	}
	if b, err := hex.DecodeString(c.VKFingerprint); err != nil || len(b) != 32 {
		return fmt.Errorf("verifying-key fingerprint %q: want 64 hex digits", c.VKFingerprint)
	}
	tmpl, err := template.New("claims").Option("missingkey=error").Parse(claimsRegistryTemplate)
	if err != nil {
		return fmt.Errorf("claims contract template: %w", err)
	}
	data := struct{ Circuit, VKFingerprint, Pragma string }{c.ID, c.VKFingerprint, Pragma}
	if err := tmpl.Execute(w, data); err != nil {
		return fmt.Errorf("write claims contract: %w", err)
	}
	return nil
}
