// Package circuits is the zkhealth statement as a gnark circuit: one generic policy circuit,
// instantiated per rung of a schema's ladder (schema.Circuit) from its declared slots. A policy is
// data (a private input bound by its public hash), so a new trial or payer rule needs no new setup.
//
// What it proves (DESIGN.md, "The statement"), with public inputs exactly request binding, issuer
// key (X, Y), challenge, nullifier, in that order:
//
//  1. the issuer's EdDSA signature verifies over C = Poseidon2(credential tag, credential vector),
//     the vector holding each list's tree root, length and completeness;
//  2. the credential's holder commitment is H(holder tag, holder secret);
//  3. issued_on ≤ as_of ≤ expires_on, and as_of − issued_on ≤ the policy's max credential age;
//  4. H(policy tag, compiled policy, as_of, scope) = request binding, and every slot of the
//     compiled policy holds on the credential: scalar slots, exists slots (one opened entry),
//     family blocks (two opened entries around a code family, with the aggregates of the subtrees
//     between them) and latest slots (the latest entry of a family, opened by its blocks);
//  5. nullifier = H(nullifier tag, holder secret, scope);
//  6. the challenge enters a real constraint.
//
// Cost grows with the logarithm of a list's capacity: an opening is one width-8 Poseidon2
// permutation per tree level (the constraint-count test tracks every rung). Every comparison
// operand is range-checked to its declared width when its vector or leaf is unpacked, and
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

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/schema"
)

// Circuit is the policy circuit of one rung of a schema's ladder. Build it with New; assign it
// with Assign.
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
	Policy       []frontend.Variable // the circuit's policy layout, field by field
	Lists        []ListWitness       // per list of the schema, the openings its slots need

	spec  *schema.Schema
	shape *schema.Circuit
}

// New returns circuit c of schema s, sized from its layouts and slots. It panics when the
// declaration is invalid: a misdeclared schema must fail at compile time, not at prove time.
func New(s *schema.Schema, c *schema.Circuit) *Circuit {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	if c.Schema != s.ID {
		panic(fmt.Sprintf("circuits: circuit %s is not of schema %s", c.ID, s.ID))
	}
	out := &Circuit{
		Credential: make([]frontend.Variable, len(s.CredentialLayout().Fields)),
		Policy:     make([]frontend.Variable, len(c.PolicyLayout(s).Fields)),
		Lists:      make([]ListWitness, len(s.Lists)),
		spec:       s,
		shape:      c,
	}
	for li, l := range s.Lists {
		slots := c.Lists[li]
		lw := ListWitness{Picks: make([]PickOpening, slots.Picks), Blocks: make([]BlockWitness, slots.Blocks)}
		for j := range lw.Picks {
			lw.Picks[j] = newPickOpening(l)
		}
		for b := range lw.Blocks {
			lw.Blocks[b] = BlockWitness{Low: newBlockOpening(l), High: newBlockOpening(l)}
		}
		out.Lists[li] = lw
	}
	return out
}

// Schema returns the schema the circuit was built for.
func (c *Circuit) Schema() *schema.Schema { return c.spec }

// Shape returns the rung the circuit was built for.
func (c *Circuit) Shape() *schema.Circuit { return c.shape }

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
	pol, err := unpackVector(api, rc, c.shape.PolicyLayout(s), c.Policy)
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
	if err := assertPolicyHash(api, c.shape, pol.packed, c.PolicyHash); err != nil {
		return err
	}
	if err := c.assertSlotsHold(api, cmp, cred, pol); err != nil {
		return err
	}
	if err := assertNullifier(api, c.HolderSecret, scope, c.Nullifier); err != nil {
		return err
	}
	bindChallenge(api, c.Challenge)
	return nil
}

// assertSlotsHold is rule 4's predicate half: every slot of the compiled policy holds.
func (c *Circuit) assertSlotsHold(api frontend.API, cmp *comparator, cred, pol *vector) error {
	s := c.spec
	scalars := make([]frontend.Variable, len(s.Attributes))
	for a, attr := range s.Attributes {
		scalars[a] = cred.get(schema.AttrField(attr.Name))
	}
	pool := make([]frontend.Variable, c.shape.SetValues)
	for k := range pool {
		pool[k] = pol.get(schema.SetValueField(k))
	}
	for k := range c.shape.Scalars {
		assertScalar(api, cmp, func(part string) frontend.Variable { return pol.get(schema.ScalarField(k, part)) }, scalars, pool)
	}
	for li, l := range s.Lists {
		lw, slots := c.Lists[li], c.shape.Lists[li]
		if len(lw.Picks) != slots.Picks || len(lw.Blocks) != slots.Blocks {
			return fmt.Errorf("list %s: witness sized for another circuit than %s", l.Name, c.shape.ID)
		}
		root := cred.get(schema.RootField(l.Name))
		comp := completeness{incomplete: cred.get(schema.IncompleteField(l.Name)), since: cred.get(schema.CompleteSinceField(l.Name))}
		tags := tagsOf(credential.LeafTag(s, l), credential.NodeTag(s, l))
		for j, o := range lw.Picks {
			e, packed := readLeaf(api, cmp.rc, l, o.Leaf, position(api, o.Digits))
			assertPickOpening(api, cmp.rc, tags, o, packed, root)
			assertExists(api, cmp, l, slots, func(part string) frontend.Variable { return pol.get(schema.PickField(l.Name, j, part)) }, e)
		}
		blocks := make([]openedBlock, len(lw.Blocks))
		for b, w := range lw.Blocks {
			low, lowPacked := readLeaf(api, cmp.rc, l, w.Low.Leaf, position(api, w.Low.Digits))
			high, highPacked := readLeaf(api, cmp.rc, l, w.High.Leaf, position(api, w.High.Digits))
			assertBlockOpening(api, cmp.rc, tags, w.Low, lowPacked, root)
			assertBlockOpening(api, cmp.rc, tags, w.High, highPacked, root)
			blocks[b] = openedBlock{w: w, low: low, high: high, g: geometry(api, w.Low, w.High)}
		}
		blockField := func(b int, part string) frontend.Variable { return pol.get(schema.BlockField(l.Name, b, part)) }
		keys := make([]frontend.Variable, slots.Latest)
		for g := range slots.Latest {
			keys[g] = assertLatest(api, cmp, l, g, func(part string) frontend.Variable { return pol.get(schema.LatestField(l.Name, g, part)) },
				blockField, blocks, comp)
		}
		for b, ob := range blocks {
			var latestKey frontend.Variable = 0
			for g := range slots.Latest {
				latestKey = api.Add(latestKey, api.Mul(blockField(b, fmt.Sprintf("latest/%d", g)), keys[g]))
			}
			assertBlock(api, cmp, l, func(part string) frontend.Variable { return blockField(b, part) }, ob, comp, latestKey)
		}
	}
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
// the public request binding, so the prover cannot swap in another policy, date or scope. The tag
// names the circuit, so a policy laid out for one rung is never read as another's.
func assertPolicyHash(api frontend.API, c *schema.Circuit, packed []frontend.Variable, policyHash frontend.Variable) error {
	h, err := hashTagged(api, fieldhash.PolicyTag(c.ID), packed...)
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
