package benchmarks

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/keys"
)

// Rerandomised returns n Groth16 proofs that verify exactly when pf does, with the same public
// values and pairwise distinct bytes: proof k is (A·2⁻ᵏ, B·2ᵏ, C), and e(A·2⁻ᵏ, B·2ᵏ) = e(A, B);
// the commitment and its proof of knowledge are unchanged. Anyone holding a proof can do this (so
// package proof never takes proof bytes as an identifier); the load driver does it to send a
// service that caches verifications by (request, proof bytes) an unbounded supply of distinct
// valid proofs, each of which takes the full, uncached verification path.
func Rerandomised(pf *zkhealth.ProofFile, n int) ([]*zkhealth.ProofFile, error) {
	if keys.Backend(pf.Backend) != keys.Groth16 {
		return nil, fmt.Errorf("re-randomise: %s proof, want groth16", pf.Backend)
	}
	raw, err := pf.Bytes()
	if err != nil {
		return nil, err
	}
	var p groth16bn254.Proof
	if _, err := p.ReadFrom(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("re-randomise: read proof: %w", err)
	}
	var inv2 fr.Element
	inv2.SetUint64(2)
	inv2.Inverse(&inv2)
	halve := inv2.BigInt(new(big.Int))
	out := make([]*zkhealth.ProofFile, n)
	var buf bytes.Buffer
	for k := range out {
		p.Ar.ScalarMultiplication(&p.Ar, halve)
		p.Bs.Double(&p.Bs)
		buf.Reset()
		if _, err := p.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("re-randomise: write proof: %w", err)
		}
		f := *pf
		f.Proof = base64.StdEncoding.EncodeToString(buf.Bytes())
		out[k] = &f
	}
	return out, nil
}
