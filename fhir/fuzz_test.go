package fhir

import (
	"errors"
	"testing"

	"github.com/zkhealth/zkhealth/credential"
)

// FuzzClinicalAttributes: any input either fails with an error wrapping credential.ErrMalformed
// or gives attributes that encode; it never panics. The coverage reader runs on the same input.
func FuzzClinicalAttributes(f *testing.F) {
	// A compact bundle in the shape Synthea writes (the fixtures themselves are too large to
	// mutate quickly): SNOMED conditions, a blood-pressure panel, an EOB with its coverage.
	f.Add(bundleOf(
		cond("active", SystemSNOMED, "162864005", "2018-09-17T15:29:24+00:00"),
		`{"resourceType": "Observation", "status": "final", `+subject+`, "effectiveDateTime": "2018-09-17T15:29:24+00:00",
		  "code": {"coding": [{"system": "http://loinc.org", "code": "55284-4"}]},
		  "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 122.4, "unit": "mm[Hg]", "system": "`+SystemUCUM+`", "code": "mm[Hg]"}}]}`,
		`{"resourceType": "ExplanationOfBenefit", "status": "active", "patient": {"reference": "urn:uuid:p1"},
		  "contained": [{"resourceType": "Coverage", "id": "coverage", "status": "active", "type": {"text": "private"}, "beneficiary": {"reference": "urn:uuid:p1"}, "payor": [{"display": "private"}]}],
		  "billablePeriod": {"start": "2018-09-17T15:59:24+00:00", "end": "2019-09-17T15:59:24+00:00"},
		  "insurance": [{"focal": true, "coverage": {"reference": "#coverage"}}],
		  "item": [{"sequence": 1, "category": {"coding": [{"system": "`+SystemCMSTypeOfService+`", "code": "1"}]}}]}`))
	f.Add(bundleOf(obs("4548-4", "2020-01-01", 7.5, "%"), cond("active", SystemSNOMED, "44054006", "2020-01-01")))
	f.Add(bundleOf(acmeOrg, coverage("c1", acme+`, "period": {"start": "2026-01-01", "end": "2026-12-31"}`)))
	f.Add([]byte(`{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "birthDate": "1970"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ClinicalAttributes(data, Options{})
		if err != nil {
			if !errors.Is(err, credential.ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
		} else if _, err := a.Values(credential.Header{IssuedOn: "2020-01-01", ExpiresOn: "2021-01-01"}); err != nil {
			t.Fatalf("attributes do not encode: %v", err)
		}
		c, err := CoverageAttributes(data, Options{AsOf: "2026-06-01"})
		if err != nil {
			if !errors.Is(err, credential.ErrMalformed) {
				t.Fatalf("coverage error not marked malformed: %v", err)
			}
		} else if _, err := c.Values(credential.Header{IssuedOn: "2020-01-01", ExpiresOn: "2021-01-01"}); err != nil {
			t.Fatalf("coverage attributes do not encode: %v", err)
		}
	})
}

// FuzzPolicyFromFHIR: any input either fails or gives a policy that compiles; it never panics.
func FuzzPolicyFromFHIR(f *testing.F) {
	f.Add(t2dmEV)
	f.Add(r4Trial(groupChar(ageCode, `"valueRange": {"low": `+qty("18", "a")+`}`, false), groupChar(disease, `"valueCodeableConcept": `+concept(SystemSNOMED, "22298006"), true)))
	f.Add(ev(`{"exclude": true, "definitionByCombination": {"code": "any-of", "characteristic": [{"definitionCodeableConcept": ` + concept(SystemRxNorm, "860975") + `}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _, err := PolicyFromFHIR(data)
		if err != nil {
			return
		}
		if p.Scope == "" {
			p.Scope = "fuzz"
		}
		if _, err := p.Compile("2026-01-01"); err != nil {
			t.Fatalf("policy from FHIR does not compile: %v", err)
		}
	})
}
