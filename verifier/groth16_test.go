package verifier

import (
	"context"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/solidity"
	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/internal/checked"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/prover"
	"github.com/zkhealth/zkhealth/schema"
)

// TestGroth16MatchesGnark: the combined-pairing verifier accepts exactly what gnark's
// groth16.Verify accepts with the Solidity target's hash to field (legacy Keccak-256), on an
// honest proof, on tampered proofs and public inputs, and on a proof of the same witness made with
// gnark's default hash to field, which both refuse.
func TestGroth16MatchesGnark(t *testing.T) {
	testfixture.Quiet()
	s := schema.Coverage()
	dir := testfixture.KeysDir(t, keys.Groth16, s)
	pr, err := prover.New(dir, keys.Groth16, testfixture.CircuitIDs(s), 1)
	if err != nil {
		t.Fatal(err)
	}
	is := testfixture.Issue(t, s, testfixture.CoverageAttrs, "2026-11-01", "2027-11-01")
	var ch fr.Element
	ch.SetRandom()
	pol := testfixture.Policy(t, testfixture.CoveragePolicy)
	f, err := pr.Prove(context.Background(), prover.Request{Credential: is.Credential, Holder: is.Holder, Policy: pol, AsOf: testfixture.AsOf, Challenge: ch})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := f.Bytes()
	c, _ := pol.Compile(testfixture.AsOf)
	nullifier, _ := fieldhash.ParseHex(f.Public.Nullifier)
	public := circuits.Public{PolicyHash: c.Assigned.Hash, Issuer: is.Issuer.Public(), Challenge: ch, Nullifier: nullifier}
	k := pr.Keys(f.Circuit)
	vk := k.VK.(*groth16bn254.VerifyingKey)
	sc, _ := s.Circuit(f.Circuit)
	ours, err := newGroth16Key(vk)
	if err != nil {
		t.Fatal(err)
	}
	fresh := func() *groth16bn254.Proof {
		p, err := checked.Groth16Proof(raw, maxCommitments)
		if err != nil {
			t.Fatal(err)
		}
		return p.(*groth16bn254.Proof)
	}
	gnarkVerify := func(p *groth16bn254.Proof, pub circuits.Public) error {
		w, err := frontend.NewWitness(circuits.PublicAssignment(s, sc, &pub), ecc.BN254.ScalarField(), frontend.PublicOnly())
		if err != nil {
			t.Fatal(err)
		}
		return groth16.Verify(p, vk, w, solidity.WithVerifierTargetSolidityVerifier(backend.GROTH16))
	}
	// The same statement proved with gnark's default hash to field: a genuine proof, of the kind
	// zkhealth made before it switched to Keccak-256.
	prep, err := pr.Prepare(prover.Request{Credential: is.Credential, Holder: is.Holder, Policy: pol, AsOf: testfixture.AsOf, Challenge: ch})
	if err != nil {
		t.Fatal(err)
	}
	assignment, err := circuits.Assign(s, sc, prep.Witness)
	if err != nil {
		t.Fatal(err)
	}
	full, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	defaultHash, err := groth16.Prove(k.CCS, k.PK.(groth16.ProvingKey), full)
	if err != nil {
		t.Fatal(err)
	}
	if pub, _ := full.Public(); groth16.Verify(defaultHash, vk, pub) != nil {
		t.Fatal("gnark's default verifier refuses the default-hash proof")
	}
	one := fr.One()
	two := big.NewInt(2)
	cases := []struct {
		name  string
		proof func(p *groth16bn254.Proof)
		pub   func(p *circuits.Public)
		valid bool
	}{
		{"honest", nil, nil, true},
		{"challenge", nil, func(p *circuits.Public) { p.Challenge.Add(&p.Challenge, &one) }, false},
		{"policy hash", nil, func(p *circuits.Public) { p.PolicyHash.Add(&p.PolicyHash, &one) }, false},
		{"nullifier", nil, func(p *circuits.Public) { p.Nullifier.Add(&p.Nullifier, &one) }, false},
		{"issuer", nil, func(p *circuits.Public) { p.Issuer.A.X.Add(&p.Issuer.A.X, &one) }, false},
		{"Ar doubled", func(p *groth16bn254.Proof) { p.Ar.ScalarMultiplication(&p.Ar, two) }, nil, false},
		{"Krs doubled", func(p *groth16bn254.Proof) { p.Krs.ScalarMultiplication(&p.Krs, two) }, nil, false},
		{"Bs doubled", func(p *groth16bn254.Proof) { p.Bs.ScalarMultiplication(&p.Bs, two) }, nil, false},
		{"commitment doubled", func(p *groth16bn254.Proof) { p.Commitments[0].ScalarMultiplication(&p.Commitments[0], two) }, nil, false},
		{"pok doubled", func(p *groth16bn254.Proof) { p.CommitmentPok.ScalarMultiplication(&p.CommitmentPok, two) }, nil, false},
		{"pok swapped with commitment", func(p *groth16bn254.Proof) { p.CommitmentPok, p.Commitments[0] = p.Commitments[0], p.CommitmentPok }, nil, false},
		{"default hash to field", func(p *groth16bn254.Proof) { *p = *defaultHash.(*groth16bn254.Proof) }, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, pub := fresh(), public
			if tc.proof != nil {
				tc.proof(p)
			}
			if tc.pub != nil {
				tc.pub(&pub)
			}
			errOurs, errGnark := ours.verify(p, pub.Vector()), gnarkVerify(p, pub)
			if (errOurs == nil) != tc.valid || (errGnark == nil) != tc.valid {
				t.Fatalf("ours: %v, gnark: %v, want valid=%v", errOurs, errGnark, tc.valid)
			}
		})
	}
}
