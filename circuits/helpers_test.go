package circuits_test

import (
	"encoding/json"
	"math/big"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

// The R1CS of each circuit is compiled once per test binary.
var compiled sync.Map // circuit id -> func() (constraint.ConstraintSystem, error)

func r1csOf(t *testing.T, s *schema.Schema, c *schema.Circuit) constraint.ConstraintSystem {
	t.Helper()
	f, _ := compiled.LoadOrStore(c.ID, sync.OnceValues(func() (constraint.ConstraintSystem, error) {
		return keys.Compile(s, c, keys.Groth16)
	}))
	ccs, err := f.(func() (constraint.ConstraintSystem, error))()
	if err != nil {
		t.Fatal(err)
	}
	return ccs
}

// withAttrs returns base (an ATTRS.json) with the given top-level attributes replaced.
func withAttrs(t *testing.T, base string, set map[string]any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		m[k] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// scenario is an honestly issued credential and a policy; build gives the witness a prover would
// assign, without the prover's native pre-checks, so a violating statement reaches the circuit.
// The circuit is the smallest of the schema's ladder that holds the policy, unless circuit names
// another.
type scenario struct {
	s               *schema.Schema
	attrs, policy   string
	asOf            string
	issued, expires string
	circuit         string
}

type built struct {
	witness  *circuits.Witness
	issued   *testfixture.Issued
	decoded  *credential.Decoded
	compiled *policy.Compiled
	assigned *policy.Assigned
}

// circuit is the circuit the witness was built for.
func (b *built) circuit() *schema.Circuit { return b.assigned.Circuit }

func (sc scenario) build(t *testing.T) *built {
	t.Helper()
	if sc.asOf == "" {
		sc.asOf = testfixture.AsOf
	}
	if sc.issued == "" {
		sc.issued = "2026-11-01"
	}
	if sc.expires == "" {
		sc.expires = "2027-11-01"
	}
	is := testfixture.Issue(t, sc.s, sc.attrs, sc.issued, sc.expires)
	d, err := is.Credential.Decode()
	if err != nil {
		t.Fatal(err)
	}
	pol := testfixture.Policy(t, sc.policy)
	c, err := pol.Compile(sc.asOf)
	if err != nil {
		t.Fatal(err)
	}
	as := c.Assigned
	if sc.circuit != "" {
		circuit, ok := sc.s.Circuit(sc.circuit)
		if !ok {
			t.Fatalf("no circuit %s", sc.circuit)
		}
		if as, err = c.For(circuit); err != nil {
			t.Fatal(err)
		}
	}
	lists, err := circuits.BuildOpenings(d.Attributes, as)
	if err != nil {
		t.Fatal(err)
	}
	secret := is.Holder.Element()
	var ch fr.Element
	ch.SetUint64(42)
	return &built{issued: is, decoded: d, compiled: c, assigned: as, witness: &circuits.Witness{
		Public: circuits.Public{
			PolicyHash: as.Hash,
			Issuer:     d.Issuer,
			Challenge:  ch,
			Nullifier:  fieldhash.Nullifier(secret, c.Scope),
		},
		Credential:   d.Values,
		Signature:    d.Signature,
		HolderSecret: secret,
		Policy:       as.Values,
		Lists:        lists,
	}}
}

// solve reports whether the compiled constraint system of the scenario's circuit accepts the
// witness.
func (b *built) solve(t *testing.T, opts ...solver.Option) error {
	t.Helper()
	return solve(t, b.decoded.Schema, b.circuit(), b.witness, opts...)
}

// solve reports whether the compiled constraint system of circuit c accepts the witness.
func solve(t *testing.T, s *schema.Schema, c *schema.Circuit, w *circuits.Witness, opts ...solver.Option) error {
	t.Helper()
	a, err := circuits.Assign(s, c, w)
	if err != nil {
		t.Fatal(err)
	}
	full, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	return r1csOf(t, s, c).IsSolved(full, opts...)
}

// setPolicy replaces named policy fields of the built witness and recomputes the policy hash, as
// a verifier that compiled another policy would (a test of what the circuit refuses whatever the
// policy says).
func (b *built) setPolicy(t *testing.T, fields map[string]int64) {
	t.Helper()
	layout := b.circuit().PolicyLayout(b.decoded.Schema)
	vals := cloneInts(b.witness.Policy)
	for name, v := range fields {
		vals[layout.Index(name)] = big.NewInt(v)
	}
	b.witness.Policy = vals
	b.witness.PolicyHash = rehash(t, b.decoded.Schema, b.circuit(), vals)
}

// rehash recomputes the policy hash after a test edited compiled policy values directly.
func rehash(t *testing.T, s *schema.Schema, c *schema.Circuit, values []*big.Int) fr.Element {
	t.Helper()
	packed, err := c.PolicyLayout(s).Pack(values)
	if err != nil {
		t.Fatal(err)
	}
	h, err := fieldhash.HashBig(fieldhash.PolicyTag(c.ID), packed...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func cloneInts(xs []*big.Int) []*big.Int {
	out := make([]*big.Int, len(xs))
	for i, x := range xs {
		out[i] = new(big.Int).Set(x)
	}
	return out
}
