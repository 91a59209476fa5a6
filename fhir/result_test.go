package fhir

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/policy"
)

// decodeR4 decodes a result strictly into the samply R4 model (generated from the R4
// StructureDefinitions): an element name the resource does not have, a wrong JSON type or a code
// outside a required value set fails.
func decodeR4(t *testing.T, data []byte, resourceType string, into any) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m["resourceType"] != resourceType {
		t.Fatalf("resourceType %v, want %s", m["resourceType"], resourceType)
	}
	delete(m, "resourceType")
	rest, _ := json.Marshal(m)
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s does not decode as an R4 %s: %v", data, resourceType, err)
	}
	return m
}

// strPtr dereferences an optional string.
func strPtr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// stringLeaves collects every string value of a JSON document.
func stringLeaves(v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			stringLeaves(e, out)
		}
	case []any:
		for _, e := range x {
			stringLeaves(e, out)
		}
	case string:
		out[x] = true
	}
}

// noAttributeValues checks that no string in the result is a value of the credential's
// attributes that the policy itself does not state.
func noAttributeValues(t *testing.T, out []byte, p *policy.Policy, values []string) {
	t.Helper()
	var doc any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	leaves := map[string]bool{}
	stringLeaves(doc, leaves)
	pj, _ := json.Marshal(p)
	for _, v := range values {
		if leaves[v] && !strings.Contains(string(pj), `"`+v+`"`) {
			t.Errorf("result carries the attribute value %q: %s", v, out)
		}
	}
}

func coveragePolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(`{"schema": "coverage", "scope": "payer:acme:eligibility", "predicates": [
	  {"attribute": "status", "op": "eq", "value": "active"},
	  {"attribute": "payer", "op": "eq", "value": "ACME-HEALTH"},
	  {"list": "service_categories", "match": "exists", "code": ["30", "al"]},
	  {"list": "service_categories", "match": "exists", "code": ["A0-A9"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCoverageEligibilityResponse(t *testing.T) {
	p := coveragePolicy(t)
	created := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	first := true
	attrValues := []string{"GOLD-PPO", "M123456", "2026-01-01", "2026-12-31", "PPO", "1", "33", "MH"}
	for _, tc := range []struct {
		name    string
		v       Verification
		outcome string
		cats    string
	}{
		{"valid", Verification{Valid: true, Nullifier: "0x0badc0de", Policy: p, RequestID: "req_1", AsOf: "2026-11-22", Issuer: "ab12", FirstUse: &first, Created: created}, "complete", "30,AL"},
		{"invalid", Verification{Valid: false, Reason: "challenge_mismatch", Nullifier: "0x0badc0de", Policy: p, RequestID: "req_1", AsOf: "2026-11-22", Created: created}, "error", "30,AL"},
		{"explicit categories, no nullifier, no request", Verification{Valid: false, Reason: "malformed_proof", Policy: p, AsOf: "2026-11-22", ServiceCategories: []string{"35"}}, "error", "35"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := CoverageEligibilityResponse(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			var r r4.CoverageEligibilityResponse
			m := decodeR4(t, out, "CoverageEligibilityResponse", &r)
			for _, req := range []string{"status", "purpose", "patient", "created", "request", "outcome", "insurer"} {
				if _, ok := m[req]; !ok {
					t.Errorf("required element %s missing", req)
				}
			}
			if r.Status.Code() != "active" || len(r.Purpose) != 1 || r.Purpose[0].Code() != "validation" || r.Outcome.Code() != tc.outcome {
				t.Errorf("status %s purpose %v outcome %s", r.Status.Code(), r.Purpose, r.Outcome.Code())
			}
			if _, err := time.Parse(time.RFC3339, r.Created); err != nil || strPtr(r.ServicedDate) != "2026-11-22" {
				t.Errorf("created %q servicedDate %q", r.Created, strPtr(r.ServicedDate))
			}
			if len(r.Insurance) != 1 || r.Insurance[0].Inforce == nil || *r.Insurance[0].Inforce != tc.v.Valid {
				t.Fatalf("insurance %+v", r.Insurance)
			}
			var cats []string
			for _, it := range r.Insurance[0].Item {
				if it.Category == nil || len(it.Category.Coding) != 1 || strPtr(it.Category.Coding[0].System) != SystemX12ServiceType {
					t.Fatalf("item category %+v", it.Category)
				}
				code := strPtr(it.Category.Coding[0].Code)
				if _, err := encode.X12(code); err != nil {
					t.Errorf("category %q is not an X12 service type", code)
				}
				cats = append(cats, code)
			}
			if strings.Join(cats, ",") != tc.cats {
				t.Errorf("categories %v, want %s", cats, tc.cats)
			}
			if tc.v.Nullifier != "" && (r.Patient.Identifier == nil || strPtr(r.Patient.Identifier.System) != SystemNullifier || strPtr(r.Patient.Identifier.Value) != tc.v.Nullifier) {
				t.Errorf("patient %+v does not carry the nullifier", r.Patient)
			}
			c, _ := p.Compile("2026-11-22")
			if !hasExtension(r.Extension, ExtPolicyHash, fieldhash.Hex(c.Assigned.Hash)) {
				t.Errorf("no policy hash extension: %s", out)
			}
			if tc.v.Valid {
				if len(r.Error) != 0 || strPtr(r.Insurer.Display) != "ACME-HEALTH" || strPtr(r.Insurer.Identifier.Value) != "ab12" {
					t.Errorf("error %v insurer %+v", r.Error, r.Insurer)
				}
			} else if len(r.Error) != 1 || strPtr(r.Error[0].Code.Coding[0].System) != SystemVerifyReason || strPtr(r.Error[0].Code.Coding[0].Code) != tc.v.Reason {
				t.Errorf("error %+v, want the reason", r.Error)
			}
			noAttributeValues(t, out, p, attrValues)
		})
	}
}

func hasExtension(exts []r4.Extension, url, value string) bool {
	for _, e := range exts {
		if e.Url == url && (strPtr(e.ValueString) == value || strPtr(e.ValueCode) == value) {
			return true
		}
	}
	return false
}

func TestResearchSubject(t *testing.T) {
	trial := t2dmPolicy(t, "latest")
	trial.Scope = "trial:NCT04556851"
	other := t2dmPolicy(t, "latest")
	for _, tc := range []struct {
		name                string
		v                   Verification
		status, sys, studyV string
	}{
		{"eligible", Verification{Valid: true, Nullifier: "0x01", Policy: trial, RequestID: "req_9", AsOf: "2021-01-31"}, "eligible", SystemClinicalTrials, "NCT04556851"},
		{"ineligible", Verification{Valid: false, Reason: "policy_mismatch", Nullifier: "0x01", Policy: other, AsOf: "2021-01-31"}, "ineligible", SystemScope, "trial:t2dm-fhir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := ResearchSubject(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			var r r4.ResearchSubject
			m := decodeR4(t, out, "ResearchSubject", &r)
			for _, req := range []string{"status", "study", "individual"} {
				if _, ok := m[req]; !ok {
					t.Errorf("required element %s missing", req)
				}
			}
			if r.Status.Code() != tc.status {
				t.Errorf("status %s, want %s", r.Status.Code(), tc.status)
			}
			if r.Study.Identifier == nil || strPtr(r.Study.Identifier.System) != tc.sys || strPtr(r.Study.Identifier.Value) != tc.studyV {
				t.Errorf("study %+v", r.Study)
			}
			if r.Individual.Identifier == nil || strPtr(r.Individual.Identifier.Value) != tc.v.Nullifier || strPtr(r.Individual.Identifier.System) != SystemNullifier {
				t.Errorf("individual %+v", r.Individual)
			}
			if r.Period == nil || strPtr(r.Period.Start) != tc.v.AsOf {
				t.Errorf("period %+v", r.Period)
			}
			c, _ := tc.v.Policy.Compile(tc.v.AsOf)
			if !hasExtension(r.Extension, ExtPolicyHash, fieldhash.Hex(c.Assigned.Hash)) {
				t.Errorf("no policy hash: %s", out)
			}
			if !tc.v.Valid && !hasExtension(r.Extension, ExtVerifyReason, tc.v.Reason) {
				t.Errorf("no reason: %s", out)
			}
			noAttributeValues(t, out, tc.v.Policy, []string{"1976-01-16", "male", "E11.9", "4548-4-7.5", "2020-10-09"})
		})
	}
}

func TestVerificationResourceErrors(t *testing.T) {
	clinical, coverage := t2dmPolicy(t, "latest"), coveragePolicy(t)
	for _, tc := range []struct {
		name string
		f    func() ([]byte, error)
		want string
	}{
		{"no policy", func() ([]byte, error) { return VerificationResource(Verification{AsOf: "2026-01-01"}) }, "without a policy"},
		{"bad as-of", func() ([]byte, error) { return ResearchSubject(Verification{Policy: clinical, AsOf: "2026-1-1"}) }, "as-of"},
		{"wrong schema for CER", func() ([]byte, error) {
			return CoverageEligibilityResponse(Verification{Policy: clinical, AsOf: "2026-01-01"})
		}, "coverage policy"},
		{"wrong schema for subject", func() ([]byte, error) { return ResearchSubject(Verification{Policy: coverage, AsOf: "2026-01-01"}) }, "clinical policy"},
		{"bad category", func() ([]byte, error) {
			return CoverageEligibilityResponse(Verification{Policy: coverage, AsOf: "2026-01-01", ServiceCategories: []string{"30x"}})
		}, "X12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.f()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	for _, p := range []*policy.Policy{clinical, coverage} {
		out, err := VerificationResource(Verification{Valid: true, Policy: p, AsOf: "2026-01-01"})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"clinical": `"resourceType":"ResearchSubject"`, "coverage": `"resourceType":"CoverageEligibilityResponse"`}[p.Schema]
		if !strings.Contains(string(out), want) {
			t.Errorf("%s policy gave %s", p.Schema, out)
		}
	}
}

func TestWantsFHIR(t *testing.T) {
	for accept, want := range map[string]bool{
		"application/fhir+json":                         true,
		"application/fhir+json; fhirVersion=4.0":        true,
		"APPLICATION/FHIR+JSON":                         true,
		"application/fhir+json, application/json":       true,
		"application/json;q=0.5, application/fhir+json": true,
		"application/json, application/fhir+json;q=0.9": false,
		"application/fhir+json;q=0":                     false,
		"application/json":                              false,
		"":                                              false,
		"*/*":                                           false,
		"application/fhir+xml":                          false,
		"application/fhir+json;;":                       false,
	} {
		if got := WantsFHIR(accept); got != want {
			t.Errorf("WantsFHIR(%q) = %v, want %v", accept, got, want)
		}
	}
}
