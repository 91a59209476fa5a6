package benchmarks

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

// ClinicalWithPredicates is the clinical schema with p predicate slots instead of 16: the knob
// of the prove-time-against-constraints sweep. It is a variant for measurement only (its circuit
// id says so); no key of it is ever stored.
func ClinicalWithPredicates(p int) *schema.Schema {
	s := schema.Clinical()
	s.Predicates = p
	s.Circuit = fmt.Sprintf("clinical-p%d", p)
	return s
}

// VariantWitness is the full and public witness of a variant of a shipped schema (one that differs
// only in its number of predicate slots) for CLI.md's example credential and policy of that
// schema, trimmed to the variant's slots. The shipped schema compiles the policy; its values are
// moved to the variant's layout by field name (slots the variant lacks are dropped, slots it adds
// are off) and the policy hash is recomputed over the variant's layout, so the witness satisfies
// the variant's circuit.
func VariantWitness(variant *schema.Schema, uc UseCase) (full, public witness.Witness, err error) {
	if uc.Schema.ID != variant.ID {
		return nil, nil, fmt.Errorf("variant of %s for a %s use case", variant.ID, uc.Schema.ID)
	}
	is, err := testfixture.NewIssued(uc.Schema, uc.Attrs, "2026-11-01", "2027-11-01")
	if err != nil {
		return nil, nil, err
	}
	pol, err := policy.Parse([]byte(uc.Policy))
	if err != nil {
		return nil, nil, err
	}
	if len(pol.Predicates) > variant.Predicates {
		pol.Predicates = pol.Predicates[:variant.Predicates]
	}
	compiled, err := pol.Compile(testfixture.AsOf)
	if err != nil {
		return nil, nil, err
	}
	shipped, variantLayout := compiled.Schema.PolicyLayout(), variant.PolicyLayout()
	values := make([]*big.Int, len(variantLayout.Fields))
	for i, f := range variantLayout.Fields {
		values[i] = new(big.Int)
		if shipped.Has(f.Name) {
			values[i].Set(compiled.Values[shipped.Index(f.Name)])
		}
	}
	packed, err := variantLayout.Pack(values)
	if err != nil {
		return nil, nil, err
	}
	hash, err := fieldhash.HashBig(fieldhash.PolicyTag(variant.ID), packed...)
	if err != nil {
		return nil, nil, err
	}
	d, err := is.Credential.Decode()
	if err != nil {
		return nil, nil, err
	}
	var challenge fr.Element
	if _, err := challenge.SetRandom(); err != nil {
		return nil, nil, err
	}
	secret := is.Holder.Element()
	w := &circuits.Witness{
		Public: circuits.Public{
			PolicyHash: hash,
			Issuer:     d.Issuer,
			Challenge:  challenge,
			Nullifier:  fieldhash.Nullifier(secret, compiled.Scope),
		},
		Credential:   d.Values,
		Signature:    d.Signature,
		HolderSecret: secret,
		Policy:       values,
	}
	a, err := circuits.Assign(variant, w)
	if err != nil {
		return nil, nil, err
	}
	if full, err = frontend.NewWitness(a, ecc.BN254.ScalarField()); err != nil {
		return nil, nil, err
	}
	public, err = full.Public()
	return full, public, err
}
