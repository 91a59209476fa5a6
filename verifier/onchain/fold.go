package onchain

import (
	"bytes"
	"fmt"
)

// foldCommitmentCheck rewrites gnark's verifyProof so that it makes one pairing call instead of
// two, as package verifier does off chain.
//
// gnark's verifyProof checks the commitment's proof of knowledge with its own pairing call,
//
//	e(D, σ⁻) · e(PoK, G) = 1,
//
// then the Groth16 equation with a second one, e(A, B) · e(C, −δ) · e(α, −β) · e(L, −γ) = 1.
// The rewrite checks both in the second call, as
//
//	e(A, B) · e(C, −δ) · e(α, −β) · e(L, −γ) · e(ρ·D, σ⁻) · e(ρ·PoK, G) = 1
//
// with ρ = the upper 128 bits of keccak256(proof ‖ input), top bit set (never zero): ρ is fixed
// by everything the prover sends, so a false proof-of-knowledge check could only cancel a false
// Groth16 check for one value of ρ mod r, which the prover hits with probability 2⁻¹²⁷ per try
// (random-oracle model; the same argument as package verifier's random ρ). GT has prime order, so
// there is no small-subgroup escape. The pairing precompile's base cost (45,000 gas) is paid once
// instead of twice; the two scalings cost two ECMULs (6,000 each) and the hash and memory a
// little more: 339,782 → 310,972 gas of execution per verifyProof, measured by the chain test.
// Points off their curve still revert: ECMUL refuses them (CommitmentInvalid), as the pairing
// precompile did; a false proof of knowledge now reverts with ProofInvalid.
//
// The rewrite is two exact substitutions in the template of the pinned gnark (v0.16.3); if either
// anchor is not found exactly once, it fails rather than guess. verifyCompressedProof, which the
// claims contract does not call, is left as gnark wrote it.
func foldCommitmentCheck(src []byte) ([]byte, error) {
	for _, r := range []struct{ old, new string }{{pedersenCheck, pedersenScale}, {groth16Check, foldedCheck}} {
		if n := bytes.Count(src, []byte(r.old)); n != 1 {
			return nil, fmt.Errorf("fold the commitment check: the exported verifier has %d copies of the expected code, want 1 (has gnark's template changed?)", n)
		}
		src = bytes.Replace(src, []byte(r.old), []byte(r.new), 1)
	}
	return src, nil
}

// pedersenCheck is gnark v0.16.3's separate proof-of-knowledge check in verifyProof.
const pedersenCheck = `        // Verify pedersen commitments
        bool success;
        assembly ("memory-safe") {
            let f := mload(0x40)

            calldatacopy(f, add(proof.offset, 0x100), 0x40) // Copy first commitment
            mstore(add(f, 0x40), PEDERSEN_GSIGMANEG_X_1)
            mstore(add(f, 0x60), PEDERSEN_GSIGMANEG_X_0)
            mstore(add(f, 0x80), PEDERSEN_GSIGMANEG_Y_1)
            mstore(add(f, 0xa0), PEDERSEN_GSIGMANEG_Y_0)
            calldatacopy(add(f, 0xc0), add(proof.offset, 0x140), 0x40) // Copy PoK
            mstore(add(f, 0x100), PEDERSEN_G_X_1)
            mstore(add(f, 0x120), PEDERSEN_G_X_0)
            mstore(add(f, 0x140), PEDERSEN_G_Y_1)
            mstore(add(f, 0x160), PEDERSEN_G_Y_0)

            success := staticcall(gas(), PRECOMPILE_VERIFY, f, 0x180, f, 0x20)
            success := and(success, mload(f))
        }
        if (!success) {
            revert CommitmentInvalid();
        }
`

// pedersenScale replaces it: ρ·D and ρ·PoK, for the pairing call below.
const pedersenScale = `        // zkhealth: the proof of knowledge is checked in the Groth16 pairing call below, its two
        // pairs scaled by rho (the upper 128 bits of keccak256(proof, input), top bit set).
        bool success;
        uint256[4] memory pedersenScaled; // rho·commitment, rho·PoK
        assembly ("memory-safe") {
            let f := mload(0x40)

            calldatacopy(f, proof.offset, 0x180)
            calldatacopy(add(f, 0x180), input, 0xa0)
            let rho := or(shr(128, keccak256(f, 0x220)), shl(127, 1))
            calldatacopy(f, add(proof.offset, 0x100), 0x40) // commitment
            mstore(add(f, 0x40), rho)
            success := staticcall(gas(), PRECOMPILE_MUL, f, 0x60, pedersenScaled, 0x40)
            calldatacopy(f, add(proof.offset, 0x140), 0x40) // PoK
            mstore(add(f, 0x40), rho)
            success := and(success, staticcall(gas(), PRECOMPILE_MUL, f, 0x60, add(pedersenScaled, 0x40), 0x40))
        }
        if (!success) {
            revert CommitmentInvalid();
        }
`

// groth16Check is gnark's Groth16 pairing call (four pairs, 0x300 bytes at f).
const groth16Check = `            success := staticcall(gas(), PRECOMPILE_VERIFY, f, 0x300, f, 0x20)
`

// foldedCheck appends the two scaled proof-of-knowledge pairs and makes one call of six pairs.
const foldedCheck = `            // zkhealth: e(rho·commitment, σ⁻) and e(rho·PoK, G), folded into the same call.
            mstore(add(f, 0x300), mload(pedersenScaled))
            mstore(add(f, 0x320), mload(add(pedersenScaled, 0x20)))
            mstore(add(f, 0x340), PEDERSEN_GSIGMANEG_X_1)
            mstore(add(f, 0x360), PEDERSEN_GSIGMANEG_X_0)
            mstore(add(f, 0x380), PEDERSEN_GSIGMANEG_Y_1)
            mstore(add(f, 0x3a0), PEDERSEN_GSIGMANEG_Y_0)
            mstore(add(f, 0x3c0), mload(add(pedersenScaled, 0x40)))
            mstore(add(f, 0x3e0), mload(add(pedersenScaled, 0x60)))
            mstore(add(f, 0x400), PEDERSEN_G_X_1)
            mstore(add(f, 0x420), PEDERSEN_G_X_0)
            mstore(add(f, 0x440), PEDERSEN_G_Y_1)
            mstore(add(f, 0x460), PEDERSEN_G_Y_0)
            success := staticcall(gas(), PRECOMPILE_VERIFY, f, 0x480, f, 0x20)
`
