package prover_test

import (
	"context"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/prover"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/verifier"
)

func TestProveVerifyExamples(t *testing.T) {
	testfixture.Quiet()
	dir := testfixture.KeysDir(t, keys.Groth16, schema.Coverage(), schema.Clinical())
	pr, err := prover.New(dir, keys.Groth16, schema.CircuitIDs(), 2)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(dir, schema.CircuitIDs(), keys.Groth16)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		s             *schema.Schema
		attrs, policy string
	}{
		{"coverage", schema.Coverage(), testfixture.CoverageAttrs, testfixture.CoveragePolicy},
		{"clinical", schema.Clinical(), testfixture.ClinicalAttrs, testfixture.ClinicalPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := testfixture.Issue(t, tc.s, tc.attrs, "2026-11-01", "2027-11-01")
			pol := testfixture.Policy(t, tc.policy)
			var ch fr.Element
			ch.SetRandom()
			pf, err := pr.Prove(context.Background(), prover.Request{Credential: is.Credential, Holder: is.Holder, Policy: pol, AsOf: testfixture.AsOf, Challenge: ch})
			if err != nil {
				t.Fatalf("prove: %v", err)
			}
			res, err := v.Verify(context.Background(), verifier.Request{Proof: pf, Policy: pol, AsOf: testfixture.AsOf, Issuer: is.Issuer.Public(), Challenge: ch})
			if err != nil || !res.Valid {
				t.Fatalf("verify: %+v %v", res, err)
			}
			raw, _ := pf.Bytes()
			t.Logf("proof %d bytes", len(raw))
		})
	}
}
