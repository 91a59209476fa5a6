// Package circuits is the zkhealth statement as a gnark circuit: one generic policy circuit,
// instantiated per schema from the schema's declared capacities. A policy is data (a private
// input bound by its public hash), so a new trial or payer rule needs no new setup.
//
// What it proves (DESIGN.md, "The statement"), with public inputs exactly policy hash, issuer key
// (X, Y), challenge, nullifier, in that order:
//
//  1. the issuer's EdDSA signature verifies over C = Poseidon2(credential tag, credential vector);
//  2. the credential's holder commitment is H(holder tag, holder secret);
//  3. issued_on ≤ as_of ≤ expires_on, and as_of − issued_on ≤ the policy's max credential age;
//  4. H(policy tag, compiled policy, as_of, scope) = policy hash, and every predicate holds;
//  5. nullifier = H(nullifier tag, holder secret, scope);
//  6. the challenge enters a real constraint.
//
// Cost: see the constraint-count test (coverage ≈ 15k, clinical ≈ 45k R1CS constraints). Every
// comparison operand is range-checked to its declared width when the vectors are unpacked, and
// compared by the difference method (comparator).
package circuits

import (
	"fmt"

	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/hash/poseidon2"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/consensys/gnark/std/signature/eddsa"

	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/schema"
)

// Circuit is the policy circuit of one schema. Build it with New; assign it with Assign.
type Circuit struct {
	// Public inputs, in the order DESIGN.md fixes.
	PolicyHash frontend.Variable `gnark:",public"`
	Issuer     eddsa.PublicKey   `gnark:",public"`
	Challenge  frontend.Variable `gnark:",public"`
	Nullifier  frontend.Variable `gnark:",public"`

	// Private inputs.
	Credential   []frontend.Variable // the schema's credential layout, field by field
	Signature    eddsa.Signature
	HolderSecret frontend.Variable
	Policy       []frontend.Variable // the schema's policy layout, field by field

	spec *schema.Schema
}

// New returns the circuit of schema s, sized from its layouts. It panics when the schema
// declaration is invalid: a misdeclared schema must fail at compile time, not at prove time.
func New(s *schema.Schema) *Circuit {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	return &Circuit{
		Credential: make([]frontend.Variable, len(s.CredentialLayout().Fields)),
		Policy:     make([]frontend.Variable, len(s.PolicyLayout().Fields)),
		spec:       s,
	}
}

// Schema returns the schema the circuit was built for.
func (c *Circuit) Schema() *schema.Schema { return c.spec }

// Define states the six rules; each is one gadget named after it.
func (c *Circuit) Define(api frontend.API) error {
	if c.spec == nil {
		return fmt.Errorf("circuit built without a schema: use circuits.New")
	}
	s := c.spec
	rc := rangecheck.New(api)
	cmp := &comparator{api: api, rc: rc}

	cred, err := unpackVector(api, rc, s.CredentialLayout(), c.Credential)
	if err != nil {
		return fmt.Errorf("credential: %w", err)
	}
	pol, err := unpackVector(api, rc, s.PolicyLayout(), c.Policy)
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	asOf := pol.get(schema.FieldAsOf)
	scope := pol.get(schema.FieldScope)

	commitment, err := hashTagged(api, fieldhash.CredentialTag(s.ID), cred.packed...)
	if err != nil {
		return err
	}
	if err := assertIssuerSigned(api, c.Signature, commitment, c.Issuer); err != nil {
		return err
	}
	if err := assertHolderBound(api, cred.get(schema.FieldHolder), c.HolderSecret); err != nil {
		return err
	}
	assertValidOn(cmp, cred.get(schema.FieldIssuedOn), cred.get(schema.FieldExpiresOn), asOf)
	assertFresh(cmp, cred.get(schema.FieldIssuedOn), asOf, pol.get(schema.FieldMaxAge))
	if err := assertPolicyHash(api, s, pol.packed, c.PolicyHash); err != nil {
		return err
	}
	assertPredicatesHold(api, cmp, s, cred, pol)
	if err := assertNullifier(api, c.HolderSecret, scope, c.Nullifier); err != nil {
		return err
	}
	bindChallenge(api, c.Challenge)
	return nil
}

// hashTagged is Poseidon2(tag, elems...) in Merkle–Damgård mode: fieldhash.Hash in circuit.
func hashTagged(api frontend.API, tag fieldhash.Tag, elems ...frontend.Variable) (frontend.Variable, error) {
	h, err := poseidon2.New(api)
	if err != nil {
		return nil, fmt.Errorf("poseidon2: %w", err)
	}
	h.Write(tag.BigInt())
	h.Write(elems...)
	return h.Sum(), nil
}

// assertIssuerSigned is rule 1: the EdDSA signature verifies under the issuer key over the
// credential commitment (hash of R, A, C with Poseidon2, as gnark-crypto signs natively).
func assertIssuerSigned(api frontend.API, sig eddsa.Signature, commitment frontend.Variable, issuer eddsa.PublicKey) error {
	curve, err := twistededwards.NewEdCurve(api, tedwards.BN254)
	if err != nil {
		return fmt.Errorf("edwards curve: %w", err)
	}
	h, err := poseidon2.New(api)
	if err != nil {
		return fmt.Errorf("poseidon2: %w", err)
	}
	return eddsa.Verify(curve, sig, commitment, issuer, h)
}

// assertHolderBound is rule 2: the credential's holder commitment opens to the holder secret.
func assertHolderBound(api frontend.API, holderCommitment, secret frontend.Variable) error {
	c, err := hashTagged(api, fieldhash.TagHolder, secret)
	if err != nil {
		return err
	}
	api.AssertIsEqual(c, holderCommitment)
	return nil
}

// assertValidOn is rule 3: issued_on ≤ as_of ≤ expires_on (all range-checked dates).
func assertValidOn(cmp *comparator, issuedOn, expiresOn, asOf frontend.Variable) {
	cmp.AssertGE(asOf, issuedOn, schema.WithinBits)
	cmp.AssertGE(expiresOn, asOf, schema.WithinBits)
}

// assertFresh is rule 3's freshness half: as_of − issued_on ≤ max credential age (all
// range-checked to schema.WithinBits, so issued_on + max_age fits WithinBits+1 bits).
func assertFresh(cmp *comparator, issuedOn, asOf, maxAge frontend.Variable) {
	cmp.AssertGE(cmp.api.Add(issuedOn, maxAge), asOf, schema.WithinBits+1)
}

// assertPolicyHash is rule 4's binding half: the compiled policy (with as_of and scope) hashes to
// the public policy hash, so the prover cannot swap in another policy, date or scope.
func assertPolicyHash(api frontend.API, s *schema.Schema, packed []frontend.Variable, policyHash frontend.Variable) error {
	h, err := hashTagged(api, fieldhash.PolicyTag(s.ID), packed...)
	if err != nil {
		return err
	}
	api.AssertIsEqual(h, policyHash)
	return nil
}

// assertNullifier is rule 5: nullifier = H(nullifier tag, holder secret, scope).
func assertNullifier(api frontend.API, secret, scope, nullifier frontend.Variable) error {
	n, err := hashTagged(api, fieldhash.TagNullifier, secret, scope)
	if err != nil {
		return err
	}
	api.AssertIsEqual(n, nullifier)
	return nil
}

// bindChallenge is rule 6: the challenge enters a quadratic constraint, so Groth16 verification
// depends on it (gnark drops public inputs no constraint uses).
func bindChallenge(api frontend.API, challenge frontend.Variable) {
	sq := api.Mul(challenge, challenge)
	api.AssertIsEqual(api.Sub(sq, api.Mul(challenge, challenge)), 0)
}
