package credential_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
)

// fuzzHeader is the fixed header FuzzAttributes encodes under.
var fuzzHeader = credential.Header{
	HolderCommitment: fr.Element{7},
	IssuedOn:         issuedOn,
	ExpiresOn:        expiresOn,
	ID:               [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
}

// FuzzAttributes checks ParseAttributes never panics for either schema, and that accepted
// attributes encode, and survive MarshalJSON and ParseAttributes unchanged: same layout values
// (with the truncation flags, which CREDENTIAL.json carries outside the attributes) and the same
// normal form, which Decode relies on to refuse a credential whose attributes were re-spelt.
func FuzzAttributes(f *testing.F) {
	f.Add(true, []byte(testfixture.ClinicalAttrs))
	f.Add(false, []byte(testfixture.CoverageAttrs))
	f.Add(true, []byte(`{"birth_date": "1976-01-16", "sex": "MALE", "conditions": [{"code": "e11.9", "onset": "2015-03-01"}, {"code": "I21.9", "onset": "2020-01-01"}],
		"observations": [{"code": "4548-4", "value": 53, "unit": "mmol/mol", "date": "2026-10-09"}, {"code": "29463-7", "value": 180.5, "unit": "lb", "date": "2026-10-09"}]}`))
	f.Add(true, []byte(`{"birth_date": "1976-01-16", "sex": "male", "observations": [{"code": "4548-4", "value": 7.005, "unit": "%", "date": "2026-10-09"}]}`))
	f.Add(false, []byte(`{"payer": "A", "plan": "B", "member_id": "\u00e9\ud800", "status": "Draft", "period_start": "1900-01-01", "period_end": "2099-12-31", "insurance_type": "x",
		"service_categories": ["30","1","33","35","47","48","50","86","88","98","AL","MH","UC","A1","A2","A3","A4"]}`))
	f.Add(true, []byte(`{"birth_date": "1976-01-16", "sex": "male", "conditions": null}`))
	f.Add(true, []byte(`{}`))
	f.Add(false, []byte(`[`))
	f.Fuzz(func(t *testing.T, clinical bool, data []byte) {
		s := schema.Coverage()
		if clinical {
			s = schema.Clinical()
		}
		checkAttributesRoundTrip(t, s, data)
	})
}

// FuzzAttributeEntries is FuzzAttributes with well-formed JSON around fuzzed field values, so the
// fuzzer spends its time in codes, dates, values and units rather than in JSON syntax.
func FuzzAttributeEntries(f *testing.F) {
	f.Add("E11.9", "2015-03-01", "4548-4", 7.5, "%", "2026-10-09", "860975", "AL", "male", uint8(2))
	f.Add("e119", "1900-01-01", "4548-4", 53.0, "mmol/mol", "2099-12-31", "1", "30", "Female", uint8(17))
	f.Add("Z9ZZZZZ", "2024-02-29", "29463-7", 180.5, "lb", "2023-02-29", "4294967295", "a", "x", uint8(0))
	f.Add("I21", "2026-01-01", "39156-5", 42949672.95, "kg/m²", "2026-10-09", "01", "1-3", "unknown", uint8(33))
	f.Fuzz(func(t *testing.T, icd, onset, loinc string, value float64, unit, date, rxnorm, x12, sex string, n uint8) {
		count := int(n%20) + 1
		var conds, obs, meds, cats []string
		for i := range count {
			// Vary the dates a little so sorting and ties are both exercised.
			d := onset
			if i%3 == 1 {
				d = date
			}
			conds = append(conds, fmt.Sprintf(`{"code": %q, "onset": %q}`, icd, d))
			obs = append(obs, fmt.Sprintf(`{"code": %q, "value": %v, "unit": %q, "date": %q}`, loinc, value, unit, d))
			meds = append(meds, fmt.Sprintf(`{"code": %q, "start": %q}`, rxnorm, d))
			cats = append(cats, fmt.Sprintf("%q", x12))
		}
		join := func(xs []string) string { return "[" + strings.Join(xs, ", ") + "]" }
		clinical := fmt.Sprintf(`{"birth_date": %q, "sex": %q, "conditions": %s, "observations": %s, "medications": %s}`,
			onset, sex, join(conds), join(obs), join(meds))
		checkAttributesRoundTrip(t, schema.Clinical(), []byte(clinical))
		coverage := fmt.Sprintf(`{"payer": %q, "plan": %q, "member_id": %q, "status": %q, "period_start": %q, "period_end": %q, "insurance_type": %q, "service_categories": %s}`,
			icd, unit, rxnorm, sex, onset, date, loinc, join(cats))
		checkAttributesRoundTrip(t, schema.Coverage(), []byte(coverage))
	})
}

// checkAttributesRoundTrip is the property of FuzzAttributes.
func checkAttributesRoundTrip(t *testing.T, s *schema.Schema, data []byte) {
	t.Helper()
	a, err := credential.ParseAttributes(s, data)
	if err != nil {
		return
	}
	vals, err := a.Values(fuzzHeader)
	if err != nil {
		t.Fatalf("accepted attributes do not encode: %v", err)
	}
	if _, err := credential.Commitment(s, vals); err != nil {
		t.Fatalf("accepted attributes do not commit: %v", err)
	}
	js, err := a.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	b, err := credential.ParseAttributes(s, js)
	if err != nil {
		t.Fatalf("ParseAttributes(MarshalJSON(a)) = %v\n%s", err, js)
	}
	for i := range b.Completeness {
		if !b.Completeness[i].Complete() {
			t.Fatalf("the normal form of list %d holds more than its capacity", i)
		}
		b.Completeness[i] = a.Completeness[i]
	}
	vals2, err := b.Values(fuzzHeader)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(vals) != fmt.Sprint(vals2) {
		t.Fatalf("round trip changed the values:\n%v\n%v\n%s", vals, vals2, js)
	}
	js2, _ := b.MarshalJSON()
	if string(js) != string(js2) {
		t.Fatalf("normal form not stable:\n%s\n%s", js, js2)
	}
}

// FuzzCredentialParse checks Parse, Decode and Verify never panic on any CREDENTIAL.json, and that
// a credential that verifies re-marshals to one that verifies with the same commitment.
func FuzzCredentialParse(f *testing.F) {
	rnd := rand.NewChaCha8([32]byte{42})
	for _, tt := range []struct {
		s     *schema.Schema
		attrs string
	}{
		{schema.Coverage(), testfixture.CoverageAttrs},
		{schema.Clinical(), testfixture.ClinicalAttrs},
	} {
		is := issue(f, rnd, tt.s, tt.attrs)
		f.Add(marshal(f, is.cred))
	}
	f.Add([]byte(`{"version": 2, "schema": "clinical", "attributes": {}, "completeness": {"conditions": {"complete_since": "2020-01-01", "incomplete": true}}}`))
	f.Add([]byte(`{"version": 1, "schema": "coverage", "id": "00", "issuer": "0x00", "signature": "00"}`))
	f.Add([]byte(`{"version": 2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := credential.Parse(data)
		if err != nil {
			return
		}
		d, err := c.Decode()
		if err != nil {
			if !refused(err) {
				t.Fatalf("Decode error %v is not ErrMalformed", err)
			}
			return
		}
		if err := d.Verify(); err != nil {
			return
		}
		again, err := decodeVerify(marshal(t, c))
		if err != nil {
			t.Fatalf("a verified credential does not verify after Marshal: %v", err)
		}
		if !again.Commitment.Equal(&d.Commitment) {
			t.Fatalf("commitment changed after Marshal")
		}
	})
}
