package verifier_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/solidity"
	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/checked"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/prover"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/verifier"
)

type honest struct {
	proof     *zkhealth.ProofFile
	policy    *policy.Policy
	issued    *testfixture.Issued
	challenge fr.Element
	v         *verifier.Verifier
	k         *keys.Keys
}

func proveHonest(t *testing.T, b keys.Backend, s *schema.Schema, attrs, pol string) *honest {
	t.Helper()
	testfixture.Quiet()
	dir := testfixture.KeysDir(t, b, s)
	pr, err := prover.New(dir, b, testfixture.CircuitIDs(s), 1)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(dir, testfixture.CircuitIDs(s), b)
	if err != nil {
		t.Fatal(err)
	}
	h := &honest{issued: testfixture.Issue(t, s, attrs, "2026-11-01", "2027-11-01"), policy: testfixture.Policy(t, pol), v: v}
	h.challenge.SetRandom()
	h.proof, err = pr.Prove(context.Background(), prover.Request{Credential: h.issued.Credential, Holder: h.issued.Holder, Policy: h.policy, AsOf: testfixture.AsOf, Challenge: h.challenge})
	if err != nil {
		t.Fatal(err)
	}
	h.k = pr.Keys(h.proof.Circuit)
	return h
}

func (h *honest) request() verifier.Request {
	p := *h.proof
	return verifier.Request{Proof: &p, Policy: h.policy, AsOf: testfixture.AsOf, Issuer: h.issued.Issuer.Public(), Challenge: h.challenge}
}

// TestPublicInputsBound is the rule "gnark drops a public input no constraint uses": for each of
// the five public inputs, the pairing check of an honest Groth16 proof must fail when only that
// input changes.
func TestPublicInputsBound(t *testing.T) {
	for _, s := range []*schema.Schema{schema.Coverage(), schema.Clinical()} {
		attrs, pol := testfixture.CoverageAttrs, testfixture.CoveragePolicy
		if s.ID == "clinical" {
			attrs, pol = testfixture.ClinicalAttrs, testfixture.ClinicalPolicy
		}
		h := proveHonest(t, keys.Groth16, s, attrs, pol)
		raw, _ := h.proof.Bytes()
		prf, err := checked.Groth16Proof(raw, 4)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := h.policy.Compile(testfixture.AsOf)
		nullifier, _ := fieldhash.ParseHex(h.proof.Public.Nullifier)
		base := circuits.Public{PolicyHash: c.Assigned.Hash, Issuer: h.issued.Issuer.Public(), Challenge: h.challenge, Nullifier: nullifier}
		sc, ok := s.Circuit(h.proof.Circuit)
		if !ok {
			t.Fatalf("proof of unknown circuit %s", h.proof.Circuit)
		}
		verify := func(p circuits.Public) error {
			w, err := frontend.NewWitness(circuits.PublicAssignment(s, sc, &p), ecc.BN254.ScalarField(), frontend.PublicOnly())
			if err != nil {
				t.Fatal(err)
			}
			return groth16.Verify(prf, h.k.VK.(groth16.VerifyingKey), w, solidity.WithVerifierTargetSolidityVerifier(backend.GROTH16))
		}
		if err := verify(base); err != nil {
			t.Fatalf("%s: honest proof rejected: %v", sc.ID, err)
		}
		one := fr.One()
		for name, edit := range map[string]func(p *circuits.Public){
			"policy hash": func(p *circuits.Public) { p.PolicyHash.Add(&p.PolicyHash, &one) },
			"issuer X":    func(p *circuits.Public) { p.Issuer.A.X.Add(&p.Issuer.A.X, &one) },
			"issuer Y":    func(p *circuits.Public) { p.Issuer.A.Y.Add(&p.Issuer.A.Y, &one) },
			"challenge":   func(p *circuits.Public) { p.Challenge.Add(&p.Challenge, &one) },
			"nullifier":   func(p *circuits.Public) { p.Nullifier.Add(&p.Nullifier, &one) },
		} {
			p := base
			edit(&p)
			if verify(p) == nil {
				t.Errorf("%s: proof still verifies with %s changed", sc.ID, name)
			}
		}
	}
}

// TestVerifierBinding: through the Verifier, with the verifier's own values changed one at a time
// (as-of date, scope, policy, issuer, challenge, nullifier). Each is checked twice: as given, and
// with the proof file's public block edited to claim the verifier's values, so that only the
// pairing check can refuse it.
func TestVerifierBinding(t *testing.T) {
	h := proveHonest(t, keys.Groth16, schema.Coverage(), testfixture.CoverageAttrs, testfixture.CoveragePolicy)
	ctx := context.Background()
	if res, err := h.v.Verify(ctx, h.request()); err != nil || !res.Valid {
		t.Fatalf("honest proof: %+v %v", res, err)
	}
	other := testfixture.Issue(t, schema.Coverage(), testfixture.CoverageAttrs, "2026-11-01", "2027-11-01")
	otherScope := testfixture.Policy(t, strings.Replace(testfixture.CoveragePolicy, "payer:acme:eligibility", "payer:acme:other", 1))
	otherPolicy := testfixture.Policy(t, strings.Replace(testfixture.CoveragePolicy, `"code": ["30"]`, `"code": ["33"]`, 1))
	var otherChallenge fr.Element
	otherChallenge.SetRandom()
	cases := []struct {
		name   string
		edit   func(r *verifier.Request)
		reason string
	}{
		{"challenge", func(r *verifier.Request) { r.Challenge = otherChallenge }, verifier.ReasonChallenge},
		{"as-of date", func(r *verifier.Request) { r.AsOf = "2026-11-23" }, verifier.ReasonAsOfMismatch},
		{"scope", func(r *verifier.Request) { r.Policy = otherScope }, verifier.ReasonScopeMismatch},
		{"policy", func(r *verifier.Request) { r.Policy = otherPolicy }, verifier.ReasonPolicyMismatch},
		{"issuer key", func(r *verifier.Request) { r.Issuer = other.Issuer.Public() }, verifier.ReasonIssuerMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.request()
			tc.edit(&r)
			res, err := h.v.Verify(ctx, r)
			if err != nil || res.Valid || res.Reason != tc.reason {
				t.Fatalf("as given: %+v %v, want reason %s", res, err, tc.reason)
			}
			// the attacker rewrites the claimed public block to the verifier's values
			c, err := r.Policy.Compile(r.AsOf)
			if err != nil {
				t.Fatal(err)
			}
			forged := *r.Proof
			forged.AsOf, forged.Scope = r.AsOf, r.Policy.Scope
			forged.Public.PolicyHash = fieldhash.Hex(c.Assigned.Hash)
			forged.Public.Issuer = credential.PublicKeyHex(r.Issuer)
			forged.Public.Challenge = fieldhash.Hex(r.Challenge)
			r.Proof = &forged
			res, err = h.v.Verify(ctx, r)
			if err != nil || res.Valid || res.Reason != verifier.ReasonRejected {
				t.Fatalf("forged public block: %+v %v, want %s", res, err, verifier.ReasonRejected)
			}
		})
	}
	t.Run("nullifier", func(t *testing.T) {
		r := h.request()
		n, _ := fieldhash.ParseHex(r.Proof.Public.Nullifier)
		one := fr.One()
		n.Add(&n, &one)
		r.Proof.Public.Nullifier = fieldhash.Hex(n)
		// the nullifier is the one public value read from the file: only the pairing check refuses it
		if res, err := h.v.Verify(ctx, r); err != nil || res.Valid || res.Reason != verifier.ReasonRejected {
			t.Fatalf("changed nullifier: %+v %v, want %s", res, err, verifier.ReasonRejected)
		}
	})
	t.Run("proof point", func(t *testing.T) {
		// another valid proof element (A negated): well-formed, refused by the pairing check
		r := h.request()
		raw, _ := r.Proof.Bytes()
		prf, err := checked.Groth16Proof(raw, 4)
		if err != nil {
			t.Fatal(err)
		}
		p := prf.(*groth16bn254.Proof)
		p.Ar.Neg(&p.Ar)
		var buf bytes.Buffer
		if _, err := p.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		r.Proof.Proof = encode64(buf.Bytes())
		if res, err := h.v.Verify(ctx, r); err != nil || res.Valid || res.Reason != verifier.ReasonRejected {
			t.Fatalf("negated A: %+v %v, want %s", res, err, verifier.ReasonRejected)
		}
	})
	t.Run("proof bytes", func(t *testing.T) {
		r := h.request()
		raw, _ := r.Proof.Bytes()
		r.Proof.Proof = encode64(raw[:len(raw)-1])
		if res, err := h.v.Verify(ctx, r); err != nil || res.Valid || res.Reason != verifier.ReasonMalformed {
			t.Fatalf("truncated proof: %+v %v, want %s", res, err, verifier.ReasonMalformed)
		}
	})
}

// TestPlonk: the PLONK backend proves and verifies, and is bound to its challenge too.
func TestPlonk(t *testing.T) {
	if testing.Short() {
		t.Skip("PLONK setup is slow")
	}
	h := proveHonest(t, keys.PLONK, schema.Coverage(), testfixture.CoverageAttrs, testfixture.CoveragePolicy)
	ctx := context.Background()
	if res, err := h.v.Verify(ctx, h.request()); err != nil || !res.Valid {
		t.Fatalf("honest PLONK proof: %+v %v", res, err)
	}
	r := h.request()
	r.Challenge.SetUint64(5)
	forged := *r.Proof
	forged.Public.Challenge = fieldhash.Hex(r.Challenge)
	r.Proof = &forged
	if res, err := h.v.Verify(ctx, r); err != nil || res.Valid || res.Reason != verifier.ReasonRejected {
		t.Fatalf("PLONK proof for another challenge: %+v %v, want %s", res, err, verifier.ReasonRejected)
	}
}
