package benchmarks

import (
	"encoding/hex"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	nativeeddsa "github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

// ClinicalWithCapacity is the clinical schema whose lists' trees all have the given depth
// (capacity schema.Arity^depth − 2 each), with one circuit shaped as clinical-v2-s: the knob of the
// prove-time-against-capacity sweep. It is a variant for measurement only (its circuit id says
// so); no key of it is ever stored.
func ClinicalWithCapacity(depth int) *schema.Schema {
	s := schema.Clinical()
	for i := range s.Lists {
		s.Lists[i].Depth = depth
		s.Lists[i].Capacity = s.Lists[i].Leaves() - 2
	}
	first := s.Circuits[0]
	s.Circuits = []*schema.Circuit{{ID: fmt.Sprintf("clinical-depth%d", depth), Schema: first.Schema,
		Scalars: first.Scalars, SetValues: first.SetValues, Lists: first.Lists}}
	return s
}

// VariantWitness is the full and public witness of a capacity variant of a shipped schema for
// CLI.md's example credential and policy of that schema: the credential is issued under the
// variant (its lists committed by trees of the variant's depth) and the policy laid out for the
// variant's circuit.
func VariantWitness(variant *schema.Schema, uc UseCase) (full, public witness.Witness, err error) {
	if uc.Schema.ID != variant.ID {
		return nil, nil, fmt.Errorf("variant of %s for a %s use case", variant.ID, uc.Schema.ID)
	}
	ik, err := credential.GenerateIssuerKey(nil)
	if err != nil {
		return nil, nil, err
	}
	hk, err := credential.GenerateHolderKey(nil)
	if err != nil {
		return nil, nil, err
	}
	attrs, err := credential.ParseAttributes(variant, []byte(uc.Attrs))
	if err != nil {
		return nil, nil, err
	}
	cred, err := credential.IssueAttributes(ik, attrs, hk.Commitment(), "2026-11-01", "2027-11-01", nil)
	if err != nil {
		return nil, nil, err
	}
	h := credential.Header{HolderCommitment: hk.Commitment(), IssuedOn: cred.IssuedOn, ExpiresOn: cred.ExpiresOn}
	id, _ := hex.DecodeString(cred.ID)
	copy(h.ID[:], id)
	vals, err := attrs.Values(h)
	if err != nil {
		return nil, nil, err
	}
	var sig nativeeddsa.Signature
	raw, _ := hex.DecodeString(cred.Signature)
	if _, err := sig.SetBytes(raw); err != nil {
		return nil, nil, err
	}
	pol, err := policy.Parse([]byte(uc.Policy))
	if err != nil {
		return nil, nil, err
	}
	pol.Schema = variant.ID
	compiled, err := pol.CompileFor(variant, testfixture.AsOf)
	if err != nil {
		return nil, nil, err
	}
	as, err := compiled.For(variant.Circuits[0])
	if err != nil {
		return nil, nil, err
	}
	lists, err := circuits.BuildOpenings(attrs, as)
	if err != nil {
		return nil, nil, err
	}
	var challenge fr.Element
	if _, err := challenge.SetRandom(); err != nil {
		return nil, nil, err
	}
	secret := hk.Element()
	w := &circuits.Witness{
		Public: circuits.Public{
			PolicyHash: as.Hash,
			Issuer:     ik.Public(),
			Challenge:  challenge,
			Nullifier:  fieldhash.Nullifier(secret, compiled.Scope),
		},
		Credential:   vals,
		Signature:    sig,
		HolderSecret: secret,
		Policy:       as.Values,
		Lists:        lists,
	}
	a, err := circuits.Assign(variant, variant.Circuits[0], w)
	if err != nil {
		return nil, nil, err
	}
	if full, err = frontend.NewWitness(a, ecc.BN254.ScalarField()); err != nil {
		return nil, nil, err
	}
	public, err = full.Public()
	return full, public, err
}
