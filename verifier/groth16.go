package verifier

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc"
	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"golang.org/x/crypto/sha3"
)

// groth16Key is a BN254 Groth16 verifying key with what verification precomputes.
//
// Why a verifier of our own: gnark v0.16.3's groth16.Verify checks a proof with two separate
// pairing checks, one for the Pedersen commitment's proof of knowledge and one for the proof
// itself, each with its own final exponentiation; that is most of a verification. verify below is
// gnark's algorithm (backend/groth16/bn254/verify.go) step for step, except that the two checks
// are combined into one multi-pairing by a random linear combination, so a single final
// exponentiation serves both. A differential test checks it agrees with gnark on honest and
// tampered proofs.
//
// The commitment's hash to field is legacy Keccak-256 (uint256(keccak256(commitment)) mod r), as
// with gnark's WithVerifierHashToFieldFunction(sha3.NewLegacyKeccak256()), the option
// solidity.WithVerifierTargetSolidityVerifier sets: package prover proves with the matching prover
// option, so one proof verifies here and in the Solidity verifier gnark exports (verifier/onchain).
// A proof made with gnark's default hash (RFC 9380 expand_message_xmd over SHA-256) is refused:
// the hash is a wire of the witness.
type groth16Key struct {
	vk        *groth16bn254.VerifyingKey
	alphaBeta curve.GT // e(α, β)
	// Miller-loop lines of the fixed G2 points: −δ, −γ, then each commitment key's σ⁻ and G.
	deltaNegLines, gammaNegLines lines
	sigmaNegLines                []lines
	gLines                       lines
}

type lines = [2][len(curve.LoopCounter)]curve.LineEvaluationAff

var errPairing = errors.New("pairing check failed")

func newGroth16Key(vk *groth16bn254.VerifyingKey) (*groth16Key, error) {
	k := &groth16Key{vk: vk}
	var deltaNeg, gammaNeg curve.G2Affine
	deltaNeg.Neg(&vk.G2.Delta)
	gammaNeg.Neg(&vk.G2.Gamma)
	k.deltaNegLines = curve.PrecomputeLines(deltaNeg)
	k.gammaNegLines = curve.PrecomputeLines(gammaNeg)
	for _, ck := range vk.CommitmentKeys {
		k.sigmaNegLines = append(k.sigmaNegLines, curve.PrecomputeLines(ck.GSigmaNeg))
	}
	if len(vk.CommitmentKeys) > 0 {
		k.gLines = curve.PrecomputeLines(vk.CommitmentKeys[0].G)
	}
	e, err := curve.Pair([]curve.G1Affine{vk.G1.Alpha}, []curve.G2Affine{vk.G2.Beta})
	if err != nil {
		return nil, fmt.Errorf("precompute e(α, β): %w", err)
	}
	k.alphaBeta = e
	return k, nil
}

// verify checks proof against the public inputs (without the constant one wire), as gnark does.
// Precondition: proof was decoded by checked.Groth16Proof, whose decoder checks that every point
// is in its prime-order subgroup (verify re-checks only the cheap G1 ones).
//
//	e(Ar, Bs) · e(Krs, −δ) · e(Σ xᵢ·Kᵢ + commitments, −γ) = e(α, β)        (Groth16)
//	e(C, σ⁻) · e(PoK, G) = 1                                                (Pedersen PoK)
//
// combined as (Groth16 left side) · (PoK left side)^ρ = e(α, β) for a random 128-bit ρ from
// crypto/rand: a false PoK check would have to cancel a false Groth16 check for a ρ the prover
// cannot know, which happens with probability at most 2⁻¹²⁷. The pairs whose G2 point is fixed by
// the key use precomputed Miller-loop lines.
func (k *groth16Key) verify(proof *groth16bn254.Proof, public fr.Vector) error {
	vk := k.vk
	nbPublicVars := len(vk.G1.K) - len(vk.PublicAndCommitmentCommitted)
	nbCommitments := len(vk.PublicAndCommitmentCommitted)
	switch {
	case len(vk.CommitmentKeys) != nbCommitments:
		return fmt.Errorf("verifying key: %d commitment keys for %d commitments", len(vk.CommitmentKeys), nbCommitments)
	case len(proof.Commitments) != nbCommitments:
		return fmt.Errorf("proof: %d commitments, want %d", len(proof.Commitments), nbCommitments)
	case len(public) != nbPublicVars-1:
		return fmt.Errorf("public witness: %d values, want %d", len(public), nbPublicVars-1)
	case !proof.Ar.IsInSubGroup() || !proof.Krs.IsInSubGroup():
		return errors.New("proof points not in the prime-order subgroup")
	}
	// Bs's G2 subgroup check (the costly one) is done once, by checked.Groth16Proof's decoder:
	// precondition of verify, and the only way this package obtains a proof.
	if nbCommitments > 0 && !proof.CommitmentPok.IsInSubGroup() {
		return errors.New("commitment proof of knowledge not in the subgroup")
	}

	// The commitment wires are public inputs derived from the commitments (gnark's
	// solveCommitmentWire, with legacy Keccak-256 as its hash to field: 32 bytes reduced mod r).
	public = append(fr.Vector(nil), public...)
	hashToField := sha3.NewLegacyKeccak256()
	commitmentsSerialized := make([]byte, 0, nbCommitments*fr.Bytes)
	for i, committed := range vk.PublicAndCommitmentCommitted {
		if !proof.Commitments[i].IsInSubGroup() {
			return errors.New("commitment not in the subgroup")
		}
		if i != 0 && vk.CommitmentKeys[i].G != vk.CommitmentKeys[0].G {
			return errors.New("verifying key: commitment keys use different bases")
		}
		prehash := proof.Commitments[i].Marshal()
		for _, j := range committed {
			if j < 1 || j > len(public) {
				return errors.New("verifying key: committed index out of range")
			}
			b := public[j-1].Marshal()
			prehash = append(prehash, b...)
		}
		hashToField.Write(prehash)
		h := hashToField.Sum(nil)
		hashToField.Reset()
		n := min(fr.Bytes, hashToField.Size())
		var w fr.Element
		w.SetBytes(h[:n])
		public = append(public, w)
		commitmentsSerialized = append(commitmentsSerialized, w.Marshal()...)
	}

	// Σ xᵢ·Kᵢ + K₀ + commitments (one task: for a handful of points, spawning goroutines costs
	// more than it saves)
	var kSum curve.G1Jac
	if _, err := kSum.MultiExp(vk.G1.K[1:len(public)+1], public, ecc.MultiExpConfig{NbTasks: 1}); err != nil {
		return fmt.Errorf("public inputs: %w", err)
	}
	kSum.AddMixed(&vk.G1.K[0])
	for i := range proof.Commitments {
		kSum.AddMixed(&proof.Commitments[i])
	}
	var kSumAff curve.G1Affine
	kSumAff.FromJacobian(&kSum)

	// fixed-G2 pairs use precomputed lines; only e(Ar, Bs) needs a full Miller loop
	fixedG1 := []curve.G1Affine{proof.Krs, kSumAff}
	fixedLines := []lines{k.deltaNegLines, k.gammaNegLines}

	if nbCommitments > 0 {
		// Pedersen pairs as gnark-crypto's pedersen.BatchVerifyMultiVk builds them, scaled by a
		// random 128-bit ρ (soundness error 2⁻¹²⁸).
		challenge, err := fr.Hash(commitmentsSerialized, []byte("G16-BSB22"), 1)
		if err != nil {
			return fmt.Errorf("commitment challenge: %w", err)
		}
		var buf [16]byte
		if _, err := rand.Read(buf[:]); err != nil {
			return fmt.Errorf("random coefficient: %w", err)
		}
		rhoBig := new(big.Int).SetBytes(buf[:])
		rhoBig.SetBit(rhoBig, 127, 1) // never zero
		coeff := fr.One()
		for i := range nbCommitments {
			var c big.Int
			coeff.BigInt(&c)
			var p curve.G1Affine
			if i == 0 {
				p.ScalarMultiplication(&proof.Commitments[i], rhoBig)
			} else {
				p.ScalarMultiplication(&proof.Commitments[i], new(big.Int).Mul(&c, rhoBig))
			}
			fixedG1 = append(fixedG1, p)
			fixedLines = append(fixedLines, k.sigmaNegLines[i])
			coeff.Mul(&coeff, &challenge[0])
		}
		var pok curve.G1Affine
		pok.ScalarMultiplication(&proof.CommitmentPok, rhoBig)
		fixedG1 = append(fixedG1, pok)
		fixedLines = append(fixedLines, k.gLines)
	}

	ml, err := curve.MillerLoop([]curve.G1Affine{proof.Ar}, []curve.G2Affine{proof.Bs})
	if err != nil {
		return fmt.Errorf("miller loop: %w", err)
	}
	mlFixed, err := curve.MillerLoopFixedQ(fixedG1, fixedLines)
	if err != nil {
		return fmt.Errorf("miller loop: %w", err)
	}
	ml.Mul(&ml, &mlFixed)
	if res := curve.FinalExponentiation(&ml); !res.Equal(&k.alphaBeta) {
		return errPairing
	}
	return nil
}
