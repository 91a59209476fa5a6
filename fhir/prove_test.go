package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/prover"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/verifier"
)

// asOf is the as-of date of the fixture scenarios: the Synthea records end in January 2021.
const asOf = "2021-01-31"

// t2dmPredicates is the T2DM policy: type 2 diabetes (E11) and an HbA1c of 7.0-10.5 % within
// 365 days, `latest` or `exists`.
func t2dmPredicates(match string) string {
	return `[{"list": "conditions", "match": "exists", "code": ["E11"]},
	  {"list": "observations", "match": "` + match + `", "code": ["4548-4"], "value": [7, 10.5], "within_days": 365}]`
}

func t2dmPolicy(t *testing.T, match string) *policy.Policy {
	t.Helper()
	return &policy.Policy{Schema: "clinical", Scope: "trial:t2dm-fhir", Predicates: predicates(t, t2dmPredicates(match))}
}

// activeCoverage is "coverage active on the as-of date, any payer, service type 30".
func activeCoverage(t *testing.T) *policy.Policy {
	t.Helper()
	return &policy.Policy{Schema: "coverage", Scope: "payer:any:eligibility", Predicates: predicates(t, `[
	  {"attribute": "status", "op": "eq", "value": "active"},
	  {"attribute": "period_start", "op": "lte", "value": "`+asOf+`"},
	  {"attribute": "period_end", "op": "gte", "value": "`+asOf+`"},
	  {"list": "service_categories", "match": "exists", "code": ["30"]}]`)}
}

// anyHbA1c is "has an HbA1c result at all".
func anyHbA1c(t *testing.T) *policy.Policy {
	t.Helper()
	return &policy.Policy{Schema: "clinical", Scope: "trial:hba1c", Predicates: predicates(t, `[
	  {"list": "observations", "match": "exists", "code": ["4548-4"]}]`)}
}

// issueFHIR issues the attributes to a fresh holder on the as-of date.
func issueFHIR(t *testing.T, a *credential.Attributes) (*credential.Credential, *credential.HolderKey, *credential.IssuerKey) {
	t.Helper()
	ik, err := credential.GenerateIssuerKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := credential.GenerateHolderKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := credential.IssueAttributes(ik, a, hk.Commitment(), asOf, "2022-01-31", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, hk, ik
}

// TestProveFromFHIR runs the scenarios of the issue end to end: credentials built from the
// Synthea bundles, proofs made and verified where they must succeed, and refused by the prover
// (the credential does not satisfy the policy, so no proof exists) where they must fail.
func TestProveFromFHIR(t *testing.T) {
	if testing.Short() {
		t.Skip("proves with Groth16")
	}
	testfixture.Quiet()
	dir := testfixture.KeysDir(t, keys.Groth16, schema.Clinical(), schema.Coverage())
	pr, err := prover.New(dir, keys.Groth16, schema.CircuitIDs(), 2)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(dir, schema.CircuitIDs(), keys.Groth16)
	if err != nil {
		t.Fatal(err)
	}
	t2dm := func(match string) func(*testing.T) *policy.Policy {
		return func(t *testing.T) *policy.Policy { return t2dmPolicy(t, match) }
	}
	for _, tc := range []struct {
		name     string
		patient  string
		coverage bool
		policy   func(*testing.T) *policy.Policy
		failing  int // -1: satisfied; else the predicate the prover names
		prove    bool
	}{
		// The whole record is signed (observations hold 1,294 entries): the latest HbA1c of each
		// fixture is in the credential, and so is every earlier one.
		{"latest HbA1c 7.5 % proves", louis, false, t2dm("latest"), -1, true},
		{"latest HbA1c 6.07 % cannot", fabian, false, t2dm("latest"), 1, false},
		{"earlier 7.57 % proves exists", fabian, false, t2dm("exists"), -1, true},
		{"no HbA1c cannot prove exists", clemente, false, anyHbA1c, 0, false},
		{"an HbA1c satisfies exists", lupe, false, anyHbA1c, -1, false},
		{"no diabetes", lupe, false, t2dm("exists"), 0, false},
		{"insured has active coverage", louis, true, activeCoverage, -1, false},
		{"lapsed coverage is not active", clemente, true, activeCoverage, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a *credential.Attributes
			var err error
			if tc.coverage {
				a, err = CoverageAttributes(fixture(t, tc.patient), Options{AsOf: asOf})
			} else {
				a, err = ClinicalAttributes(fixture(t, tc.patient), Options{})
			}
			pol := tc.policy(t)
			if err != nil {
				t.Fatal(err)
			}
			cred, hk, ik := issueFHIR(t, a)
			var ch fr.Element
			ch.SetRandom()
			req := prover.Request{Credential: cred, Holder: hk, Policy: pol, AsOf: asOf, Challenge: ch}
			prep, err := pr.Prepare(req)
			if tc.failing >= 0 {
				var ze *zkhealth.Error
				if !errors.As(err, &ze) || ze.Code != zkhealth.ENotSatisfied || ze.Predicate != tc.failing {
					t.Fatalf("prepare: %v, want predicate %d not satisfied", err, tc.failing)
				}
				return
			}
			if err != nil {
				t.Fatalf("prepare: %v", err)
			}
			if !tc.prove {
				return
			}
			pf, err := pr.ProvePrepared(context.Background(), prep)
			if err != nil {
				t.Fatalf("prove: %v", err)
			}
			res, err := v.Verify(context.Background(), verifier.Request{Proof: pf, Policy: pol, AsOf: asOf, Issuer: ik.Public(), Challenge: ch})
			if err != nil || !res.Valid {
				t.Fatalf("verify: %+v %v", res, err)
			}
			out, err := ResearchSubject(Verification{Valid: res.Valid, Nullifier: res.Nullifier, PolicyHash: pf.Public.PolicyHash, Policy: pol, RequestID: "req1", AsOf: asOf})
			if err != nil {
				t.Fatal(err)
			}
			var rs map[string]any
			if err := json.Unmarshal(out, &rs); err != nil || rs["status"] != "eligible" {
				t.Errorf("ResearchSubject %s (%v)", out, err)
			}
		})
	}
	t.Run("uninsured cannot prove active coverage", func(t *testing.T) {
		_, err := CoverageAttributes(fixture(t, ned), Options{AsOf: asOf})
		if !errors.Is(err, ErrNoCoverage) {
			t.Fatalf("got %v, want ErrNoCoverage: the no_insurance pseudo-coverage never becomes a coverage credential", err)
		}
	})
}
