package circuits_test

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint/solver"

	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
)

func coveragePolicy(pred string) string {
	return fmt.Sprintf(`{"schema":"coverage","scope":"payer:test","predicates":[%s]}`, pred)
}

func clinicalPolicy(pred string) string {
	return fmt.Sprintf(`{"schema":"clinical","scope":"trial:test","predicates":[%s]}`, pred)
}

type obs struct {
	value float64
	date  string
}

func hba1c(entries ...obs) []map[string]any {
	out := []map[string]any{}
	for _, e := range entries {
		out = append(out, map[string]any{"code": "4548-4", "value": e.value, "unit": "%", "date": e.date})
	}
	return out
}

func conditions(codes ...string) []map[string]any {
	out := []map[string]any{}
	for i := 0; i+1 < len(codes); i += 2 {
		out = append(out, map[string]any{"code": codes[i], "onset": codes[i+1]})
	}
	return out
}

// TestPredicateSoundness runs every operator and list match kind against honestly signed
// credentials that satisfy it and that violate it; the compiled constraint system must accept the
// first and reject the second. No native pre-check runs.
func TestPredicateSoundness(t *testing.T) {
	testfixture.Quiet()
	cov, cli := schema.Coverage(), schema.Clinical()
	cases := []struct {
		name   string
		s      *schema.Schema
		attrs  map[string]any
		policy string
		holds  bool
	}{
		// scalar operators
		{"eq holds", cov, nil, `{"attribute":"status","op":"eq","value":"active"}`, true},
		{"eq fails", cov, map[string]any{"status": "cancelled"}, `{"attribute":"status","op":"eq","value":"active"}`, false},
		{"ne holds", cov, nil, `{"attribute":"status","op":"ne","value":"cancelled"}`, true},
		{"ne fails", cov, map[string]any{"status": "cancelled"}, `{"attribute":"status","op":"ne","value":"cancelled"}`, false},
		{"lt below", cov, map[string]any{"period_end": "2026-12-30"}, `{"attribute":"period_end","op":"lt","value":"2026-12-31"}`, true},
		{"lt at equality fails", cov, map[string]any{"period_end": "2026-12-31"}, `{"attribute":"period_end","op":"lt","value":"2026-12-31"}`, false},
		{"lte at equality", cov, map[string]any{"period_end": "2026-12-31"}, `{"attribute":"period_end","op":"lte","value":"2026-12-31"}`, true},
		{"lte above fails", cov, map[string]any{"period_end": "2027-01-01"}, `{"attribute":"period_end","op":"lte","value":"2026-12-31"}`, false},
		{"gt at equality fails", cov, map[string]any{"period_start": "2026-01-01"}, `{"attribute":"period_start","op":"gt","value":"2026-01-01"}`, false},
		{"gt above", cov, map[string]any{"period_start": "2026-01-02"}, `{"attribute":"period_start","op":"gt","value":"2026-01-01"}`, true},
		{"gte at equality", cov, map[string]any{"period_start": "2026-01-01"}, `{"attribute":"period_start","op":"gte","value":"2026-01-01"}`, true},
		{"gte below fails", cov, map[string]any{"period_start": "2025-12-31"}, `{"attribute":"period_start","op":"gte","value":"2026-01-01"}`, false},
		{"between low end inclusive", cov, map[string]any{"period_start": "2026-01-01"}, `{"attribute":"period_start","op":"between","value":["2026-01-01","2026-06-30"]}`, true},
		{"between high end inclusive", cov, map[string]any{"period_start": "2026-06-30"}, `{"attribute":"period_start","op":"between","value":["2026-01-01","2026-06-30"]}`, true},
		{"between below fails", cov, map[string]any{"period_start": "2025-12-31"}, `{"attribute":"period_start","op":"between","value":["2026-01-01","2026-06-30"]}`, false},
		{"between above fails", cov, map[string]any{"period_start": "2026-07-01"}, `{"attribute":"period_start","op":"between","value":["2026-01-01","2026-06-30"]}`, false},
		{"not_between inside fails", cov, map[string]any{"period_start": "2026-03-01"}, `{"attribute":"period_start","op":"not_between","value":["2026-01-01","2026-06-30"]}`, false},
		{"not_between outside", cov, map[string]any{"period_start": "2025-12-31"}, `{"attribute":"period_start","op":"not_between","value":["2026-01-01","2026-06-30"]}`, true},
		{"in hashed holds", cov, nil, `{"attribute":"payer","op":"in","value":["OTHER","ACME-HEALTH"]}`, true},
		{"in hashed fails", cov, map[string]any{"payer": "BETA"}, `{"attribute":"payer","op":"in","value":["OTHER","ACME-HEALTH"]}`, false},
		{"not_in fails", cov, nil, `{"attribute":"payer","op":"not_in","value":["ACME-HEALTH"]}`, false},
		{"not_in holds", cov, map[string]any{"payer": "BETA"}, `{"attribute":"payer","op":"not_in","value":["ACME-HEALTH"]}`, true},
		{"eq hashed fails", cov, map[string]any{"payer": "BETA"}, `{"attribute":"payer","op":"eq","value":"ACME-HEALTH"}`, false},
		{"in enum fails", cli, map[string]any{"sex": "other"}, `{"attribute":"sex","op":"in","value":["female","male"]}`, false},
		// date boundaries of the encoding
		{"1900-01-01 gte", cli, map[string]any{"birth_date": "1900-01-01"}, `{"attribute":"birth_date","op":"gte","value":"1900-01-01"}`, true},
		{"1900-01-01 gt fails", cli, map[string]any{"birth_date": "1900-01-01"}, `{"attribute":"birth_date","op":"gt","value":"1900-01-01"}`, false},
		{"2099-12-31 lte", cov, map[string]any{"period_end": "2099-12-31"}, `{"attribute":"period_end","op":"lte","value":"2099-12-31"}`, true},
		{"2099-12-31 lt fails", cov, map[string]any{"period_end": "2099-12-31"}, `{"attribute":"period_end","op":"lt","value":"2099-12-31"}`, false},
		// age sugar, as of 2026-11-22
		{"age exactly 18", cli, map[string]any{"birth_date": "2008-11-22"}, `{"attribute":"age","op":"between","value":[18,75]}`, true},
		{"age 17 fails", cli, map[string]any{"birth_date": "2008-11-23"}, `{"attribute":"age","op":"between","value":[18,75]}`, false},
		{"age 75", cli, map[string]any{"birth_date": "1950-11-23"}, `{"attribute":"age","op":"between","value":[18,75]}`, true},
		{"age 76 fails", cli, map[string]any{"birth_date": "1950-11-22"}, `{"attribute":"age","op":"between","value":[18,75]}`, false},
		// list: exists
		{"exists service 30", cov, nil, `{"list":"service_categories","match":"exists","code":["30"]}`, true},
		{"exists service 30 fails", cov, map[string]any{"service_categories": []string{"1", "33"}}, `{"list":"service_categories","match":"exists","code":["30"]}`, false},
		{"exists E11 family", cli, nil, `{"list":"conditions","match":"exists","code":["E11"]}`, true},
		{"exists E11 fails on E10", cli, map[string]any{"conditions": conditions("E10.9", "2015-03-01")}, `{"list":"conditions","match":"exists","code":["E11"]}`, false},
		{"exists block E08-E13", cli, map[string]any{"conditions": conditions("E13.9", "2015-03-01")}, `{"list":"conditions","match":"exists","code":["E08-E13"]}`, true},
		{"exists block fails on E14", cli, map[string]any{"conditions": conditions("E16.2", "2015-03-01")}, `{"list":"conditions","match":"exists","code":["E08-E13"]}`, false},
		{"exists medication", cli, nil, `{"list":"medications","match":"exists","code":["860975"]}`, true},
		{"exists medication fails", cli, nil, `{"list":"medications","match":"exists","code":["860976"]}`, false},
		// list: none
		{"none holds", cli, nil, `{"list":"conditions","match":"none","code":["E10","I21","I63"],"within_days":180}`, true},
		{"none fails on recent I21", cli, map[string]any{"conditions": conditions("E11.9", "2015-03-01", "I21.9", "2026-10-01")}, `{"list":"conditions","match":"none","code":["E10","I21","I63"],"within_days":180}`, false},
		{"resolved I21 with onset in the window defeats none", cli, map[string]any{"conditions": []map[string]any{
			{"code": "E11.9", "onset": "2015-03-01"},
			{"code": "I21.4", "onset": "2026-09-20", "abatement": "2026-10-05", "clinical_status": "resolved", "verification_status": "confirmed"}}},
			`{"list":"conditions","match":"none","code":["E10","I21","I63"],"within_days":180}`, false},
		{"unconfirmed I63 in the window defeats none", cli, map[string]any{"conditions": []map[string]any{
			{"code": "I63.9", "onset": "2026-10-20", "verification_status": "unconfirmed"}}},
			`{"list":"conditions","match":"none","code":["E10","I21","I63"],"within_days":180}`, false},
		{"none ignores old I21", cli, map[string]any{"conditions": conditions("E11.9", "2015-03-01", "I21.9", "2020-01-01")}, `{"list":"conditions","match":"none","code":["E10","I21","I63"],"within_days":180}`, true},
		{"none service AL fails", cov, nil, `{"list":"service_categories","match":"none","code":["AL"]}`, false},
		{"none over a full list", cli, map[string]any{"conditions": manyConditions(214)}, `{"list":"conditions","match":"none","code":["I21"]}`, true},
		{"none over an overfull list fails", cli, map[string]any{"conditions": manyConditions(215)}, `{"list":"conditions","match":"none","code":["I21"]}`, false},
		// completeness: none needs the window to start on or after complete_since and the list not
		// incomplete; latest needs the list not incomplete; exists is always sound
		{"none with a window after complete_since", cli, map[string]any{"completeness": since("conditions", "2026-01-01")}, `{"list":"conditions","match":"none","code":["I21"],"within_days":180}`, true},
		{"none with a window before complete_since fails", cli, map[string]any{"completeness": since("conditions", "2026-01-01")}, `{"list":"conditions","match":"none","code":["I21"],"within_days":365}`, false},
		{"none without a window needs nothing left out", cli, map[string]any{"completeness": since("conditions", "2026-01-01")}, `{"list":"conditions","match":"none","code":["I21"]}`, false},
		{"none over an incomplete list fails", cli, map[string]any{"completeness": incomplete("conditions")}, `{"list":"conditions","match":"none","code":["I21"],"within_days":180}`, false},
		{"latest over an incomplete list fails", cli, map[string]any{"completeness": incomplete("observations")}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`, false},
		{"latest complete since after its date fails", cli, map[string]any{"completeness": since("observations", "2026-10-10")}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`, false},
		{"latest complete since before its date", cli, map[string]any{"completeness": since("observations", "2026-10-09")}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`, true},
		{"exists over an incomplete list", cli, map[string]any{"completeness": incomplete("conditions")}, `{"list":"conditions","match":"exists","code":["E11"]}`, true},
		{"none over another list's incompleteness", cli, map[string]any{"completeness": incomplete("observations")}, `{"list":"conditions","match":"none","code":["I21"],"within_days":180}`, true},
		{"exists over an overfull list", cli, map[string]any{"conditions": manyConditions(215)}, `{"list":"conditions","match":"exists","code":["J06"]}`, true},
		// list: latest and value ranges
		{"latest at low end", cli, map[string]any{"observations": hba1c(obs{7.5, "2026-10-09"})}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`, true},
		{"latest at high end", cli, map[string]any{"observations": hba1c(obs{11.0, "2026-10-09"})}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`, true},
		{"latest just below fails", cli, map[string]any{"observations": hba1c(obs{7.49, "2026-10-09"})}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`, false},
		{"latest just above fails", cli, map[string]any{"observations": hba1c(obs{11.01, "2026-10-09"})}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`, false},
		// value bounds never widen: a bound with more decimals than the code's scale rounds inward
		{"bound 7.494 never admits 7.49", cli, map[string]any{"observations": hba1c(obs{7.49, "2026-10-09"})}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.494,11.0],"within_days":180}`, false},
		{"bound 7.494 admits 7.50", cli, map[string]any{"observations": hba1c(obs{7.5, "2026-10-09"})}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.494,11.0],"within_days":180}`, true},
		{"bound 11.005 never admits 11.01", cli, map[string]any{"observations": hba1c(obs{11.01, "2026-10-09"})}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.005],"within_days":180}`, false},
		{"bound 11.005 admits 11.00", cli, map[string]any{"observations": hba1c(obs{11.0, "2026-10-09"})}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.005],"within_days":180}`, true},
		{"newer out-of-range defeats latest", cli, map[string]any{"observations": hba1c(obs{12.0, "2026-11-01"}, obs{8.0, "2026-10-01"})}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`, false},
		{"same data passes exists", cli, map[string]any{"observations": hba1c(obs{12.0, "2026-11-01"}, obs{8.0, "2026-10-01"})}, `{"list":"observations","match":"exists","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`, true},
		{"latest outside window fails", cli, map[string]any{"observations": hba1c(obs{8.0, "2026-01-01"})}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`, false},
		{"two value ranges on one list", cli, nil, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]},{"list":"observations","match":"latest","code":["39156-5"],"value":[25.0,35.0]}`, true},
		{"second value range fails", cli, map[string]any{"observations": []map[string]any{
			{"code": "4548-4", "value": 7.5, "unit": "%", "date": "2026-10-09"},
			{"code": "39156-5", "value": 36.0, "unit": "kg/m2", "date": "2026-10-09"}}},
			`{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]},{"list":"observations","match":"latest","code":["39156-5"],"value":[25.0,35.0]}`, false},
		// windows: an MI that began before the window does not defeat an event window but, while
		// ongoing, defeats a state window
		{"old ongoing MI passes an event window", cli, map[string]any{"conditions": conditions("I21.9", "2019-01-01")}, `{"list":"conditions","match":"none","code":["I21"],"within_days":180}`, true},
		{"old ongoing MI defeats a state window", cli, map[string]any{"conditions": conditions("I21.9", "2019-01-01")}, `{"list":"conditions","match":"none","code":["I21"],"present_within_days":180}`, false},
		{"old MI ended before the window passes a state window", cli, map[string]any{"conditions": []map[string]any{
			{"code": "I21.9", "onset": "2019-01-01", "abatement": "2019-02-01", "clinical_status": "resolved"}}},
			`{"list":"conditions","match":"none","code":["I21"],"present_within_days":180}`, true},
		{"MI ended on an unknown date defeats a state window", cli, map[string]any{"conditions": []map[string]any{
			{"code": "I21.9", "onset": "2019-01-01", "abatement": "unknown", "clinical_status": "resolved"}}},
			`{"list":"conditions","match":"none","code":["I21"],"present_within_days":180}`, false},
		{"ongoing insulin started long ago defeats none over a state window", cli, map[string]any{"medications": []map[string]any{
			{"code": "311041", "start": "2024-01-01"}}},
			`{"list":"medications","match":"none","code":["311041"],"present_within_days":90}`, false},
		{"insulin stopped long ago passes", cli, map[string]any{"medications": []map[string]any{
			{"code": "311041", "start": "2024-01-01", "end": "2024-06-01", "status": "stopped"}}},
			`{"list":"medications","match":"none","code":["311041"],"present_within_days":90}`, true},
		// statuses: exists counts confirmed, active conditions unless told otherwise
		{"differential E11 does not satisfy exists", cli, map[string]any{"conditions": []map[string]any{
			{"code": "E11.9", "onset": "2015-03-01", "verification_status": "differential"}}},
			`{"list":"conditions","match":"exists","code":["E11"]}`, false},
		{"differential E11 satisfies exists with verification", cli, map[string]any{"conditions": []map[string]any{
			{"code": "E11.9", "onset": "2015-03-01", "verification_status": "differential"}}},
			`{"list":"conditions","match":"exists","code":["E11"],"verification":["confirmed","differential"]}`, true},
		{"resolved E11 does not satisfy exists", cli, map[string]any{"conditions": []map[string]any{
			{"code": "E11.9", "onset": "2015-03-01", "abatement": "2016-01-01", "clinical_status": "resolved"}}},
			`{"list":"conditions","match":"exists","code":["E11"]}`, false},
		{"stopped medication does not satisfy exists", cli, map[string]any{"medications": []map[string]any{
			{"code": "860975", "start": "2016-01-01", "end": "unknown", "status": "stopped"}}},
			`{"list":"medications","match":"exists","code":["860975"]}`, false},
		// latest across several codes of a family; ties resolve one way only
		{"newer 17856-6 out of range defeats latest across codes", cli, map[string]any{"observations": []map[string]any{
			{"code": "4548-4", "value": 8.0, "unit": "%", "date": "2026-08-01"},
			{"code": "17856-6", "value": 12.0, "unit": "%", "date": "2026-10-01"}}},
			`{"list":"observations","match":"latest","code":["4548-4","17856-6"],"value":[7.5,11.0],"within_days":180}`, false},
		{"newer 17856-6 in range wins across codes", cli, map[string]any{"observations": []map[string]any{
			{"code": "4548-4", "value": 12.0, "unit": "%", "date": "2026-08-01"},
			{"code": "17856-6", "value": 8.0, "unit": "%", "date": "2026-10-01"}}},
			`{"list":"observations","match":"latest","code":["4548-4","17856-6"],"value":[7.5,11.0],"within_days":180}`, true},
		{"same-day tie: the last listed out of range fails", cli, map[string]any{"observations": hba1c(obs{8.0, "2026-10-09"}, obs{12.0, "2026-10-09"})}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]}`, false},
		{"same-day tie: the last listed in range holds", cli, map[string]any{"observations": hba1c(obs{12.0, "2026-10-09"}, obs{8.0, "2026-10-09"})}, `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]}`, true},
		{"latest with no entry fails", cli, map[string]any{"observations": hba1c()}, `{"list":"observations","match":"latest","code":["4548-4"]}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := testfixture.CoverageAttrs
			pol := coveragePolicy(tc.policy)
			if tc.s.ID == "clinical" {
				base, pol = testfixture.ClinicalAttrs, clinicalPolicy(tc.policy)
			}
			b := scenario{s: tc.s, attrs: withAttrs(t, base, tc.attrs), policy: pol}.build(t)
			// the native evaluator must agree with the circuit
			failing, err := b.compiled.Evaluate(b.decoded.Attributes)
			if err != nil {
				t.Fatal(err)
			}
			if (failing < 0) != tc.holds {
				t.Fatalf("native evaluation: failing predicate %d, want holds=%v", failing, tc.holds)
			}
			err = b.solve(t)
			if tc.holds && err != nil {
				t.Fatalf("honest witness rejected: %v", err)
			}
			if !tc.holds && err == nil {
				t.Fatal("violating witness accepted by the constraint system")
			}
		})
	}
}

// since is an ATTRS.json completeness object: list complete since day.
func since(list, day string) map[string]any {
	return map[string]any{list: map[string]any{"complete_since": day, "incomplete": false}}
}

// incomplete is an ATTRS.json completeness object: list incomplete.
func incomplete(list string) map[string]any {
	return map[string]any{list: map[string]any{"complete_since": nil, "incomplete": true}}
}

// manyConditions returns n distinct ongoing J-code conditions (J06.0, J06.1, … J29.9).
func manyConditions(n int) []map[string]any {
	var codes []string
	for i := range n {
		codes = append(codes, fmt.Sprintf("J%02d.%d", 6+i/10, i%10), fmt.Sprintf("2019-%02d-%02d", 1+i%12, 1+i%28))
	}
	return conditions(codes...)
}

// TestCredentialSoundness: attacks on the credential and holder binding.
func TestCredentialSoundness(t *testing.T) {
	testfixture.Quiet()
	s := schema.Clinical()
	trial := clinicalPolicy(`{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]}`)
	high := withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"observations": hba1c(obs{12.0, "2026-10-09"})})
	cl := s.CredentialLayout()

	t.Run("honest", func(t *testing.T) {
		b := scenario{s: s, attrs: testfixture.ClinicalAttrs, policy: trial}.build(t)
		if err := b.solve(t); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("tampered attribute", func(t *testing.T) {
		// the 12.0 % HbA1c is re-signed as 8.0 % into another tree: its root is not the signed one
		b := scenario{s: s, attrs: high, policy: trial}.build(t)
		forged := scenario{s: s, attrs: withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"observations": hba1c(obs{8.0, "2026-10-09"})}), policy: trial}.build(t)
		root := cl.Index(schema.RootField("observations"))
		b.witness.Credential[root] = forged.witness.Credential[root]
		b.witness.Lists = forged.witness.Lists
		if b.solve(t) == nil {
			t.Fatal("tampered attribute accepted")
		}
	})
	t.Run("signature by another issuer key", func(t *testing.T) {
		b := scenario{s: s, attrs: testfixture.ClinicalAttrs, policy: trial}.build(t)
		other := testfixture.Issue(t, s, testfixture.ClinicalAttrs, "2026-11-01", "2027-11-01")
		b.witness.Issuer = other.Issuer.Public()
		if b.solve(t) == nil {
			t.Fatal("signature accepted under another issuer key")
		}
	})
	t.Run("wrong holder secret", func(t *testing.T) {
		b := scenario{s: s, attrs: testfixture.ClinicalAttrs, policy: trial}.build(t)
		thief, _ := credential.GenerateHolderKey(nil)
		b.witness.HolderSecret = thief.Element()
		b.witness.Nullifier = thief.Nullifier(b.compiled.Scope)
		if b.solve(t) == nil {
			t.Fatal("credential used with another holder's secret")
		}
	})
	old := withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"observations": hba1c()})
	diabetic := clinicalPolicy(`{"list":"conditions","match":"exists","code":["E11"]}`)
	for _, tc := range []struct {
		name, issued, expires, asOf string
		holds                       bool
	}{
		{"as-of on issued_on", "2026-11-22", "2027-11-22", "2026-11-22", true},
		{"as-of before issued_on", "2026-11-23", "2027-11-22", "2026-11-22", false},
		{"as-of on expires_on", "2025-11-22", "2026-11-22", "2026-11-22", true},
		{"expired credential", "2025-11-22", "2026-11-21", "2026-11-22", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// a year-old credential: a policy that needs no freshness, and no entry after issued_on
			b := scenario{s: s, attrs: old, policy: diabetic, issued: tc.issued, expires: tc.expires, asOf: tc.asOf}.build(t)
			if err := b.solve(t); tc.holds != (err == nil) {
				t.Fatalf("err=%v, want holds=%v", err, tc.holds)
			}
		})
	}
	// Packing aliasing: move 2^width between a field and its neighbour in the same element, so the
	// packed vector (and so the signature) is unchanged but a field leaves its declared width.
	t.Run("value beyond its width extends validity", func(t *testing.T) {
		b := scenario{s: s, attrs: old, policy: diabetic, issued: "2025-01-01", expires: "2025-12-31"}.build(t)
		alias(t, cl, b.witness.Credential, schema.FieldExpiresOn, 1)
		if b.solve(t) == nil {
			t.Fatal("expires_on beyond 17 bits accepted")
		}
	})
	t.Run("negative value", func(t *testing.T) {
		// a leaf field moved below zero by aliasing it with its neighbour: the packed leaf (so the
		// root) is unchanged, but the value leaves its width
		b := scenario{s: s, attrs: high, policy: trial}.build(t)
		_, l, _ := s.List("observations")
		block := &b.witness.Lists[1].Blocks[0]
		alias(t, l.LeafLayout(), block.Low.Leaf, schema.LeafDate, -1)
		if b.solve(t) == nil {
			t.Fatal("a leaf field outside its width accepted")
		}
	})
	t.Run("public inputs", func(t *testing.T) {
		for name, edit := range map[string]func(w *circuits.Witness){
			"policy hash": func(w *circuits.Witness) { w.PolicyHash.SetUint64(7) },
			"nullifier":   func(w *circuits.Witness) { w.Nullifier.SetUint64(7) },
			"issuer":      func(w *circuits.Witness) { w.Issuer.A.X.SetUint64(7) },
		} {
			b := scenario{s: s, attrs: testfixture.ClinicalAttrs, policy: trial}.build(t)
			edit(b.witness)
			if b.solve(t) == nil {
				t.Fatalf("%s changed: witness still accepted", name)
			}
		}
	})
}

// alias adds delta·2^width to the named field and subtracts delta from the next field of the same
// packed element; the packed vector is unchanged.
func alias(t *testing.T, l *schema.Layout, vals []*big.Int, name string, delta int64) {
	t.Helper()
	i := l.Index(name)
	if i+1 >= len(l.Fields) || l.Positions[i+1].Element != l.Positions[i].Element {
		t.Fatalf("%s has no neighbour in its element", name)
	}
	shift := new(big.Int).Lsh(big.NewInt(delta), uint(l.Fields[i].Bits))
	mod := fr.Modulus()
	vals[i] = new(big.Int).Mod(new(big.Int).Add(vals[i], shift), mod)
	vals[i+1] = new(big.Int).Mod(new(big.Int).Sub(vals[i+1], big.NewInt(delta)), mod)
}

// TestMaliciousHints replaces each hint of the circuit with a lying one; the constraints must catch
// every lie that would let a violating witness through.
func TestMaliciousHints(t *testing.T) {
	testfixture.Quiet()
	s := schema.Clinical()
	latest := clinicalPolicy(`{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]}`)
	newerHigh := withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"observations": hba1c(obs{12.0, "2026-11-01"}, obs{8.0, "2026-10-01"})})

	t.Run("comparator always says yes", func(t *testing.T) {
		b := scenario{s: s, attrs: newerHigh, policy: latest}.build(t)
		yes := func(_ *big.Int, _, out []*big.Int) error { out[0].SetInt64(1); return nil }
		if b.solve(t, solver.OverrideHint(solver.GetHintID(circuits.GreaterOrEqualHint), yes)) == nil {
			t.Fatal("lying comparator accepted")
		}
	})
	t.Run("honest hints", func(t *testing.T) {
		b := scenario{s: s, attrs: testfixture.ClinicalAttrs, policy: latest}.build(t)
		if err := b.solve(t); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFreshness: as_of − issued_on ≤ max_credential_age_days is a constraint: a credential issued
// in January cannot prove in November that nothing happened in the last 180 days (the default of
// 30 days for a none predicate), nor a policy's own limit; an unlimited policy accepts it.
func TestFreshness(t *testing.T) {
	testfixture.Quiet()
	s := schema.Clinical()
	none := clinicalPolicy(`{"list":"conditions","match":"none","code":["I21"],"within_days":180}`)
	exists := clinicalPolicy(`{"list":"conditions","match":"exists","code":["E11"]}`)
	withAge := `{"schema":"clinical","scope":"trial:test","max_credential_age_days":400,"predicates":[{"list":"conditions","match":"none","code":["I21"],"within_days":180}]}`
	for _, tc := range []struct {
		name, policy, issued string
		holds                bool
	}{
		{"fresh", none, "2026-11-01", true},
		{"30 days old", none, "2026-10-23", true},
		{"31 days old", none, "2026-10-22", false},
		{"stale January credential", none, "2026-01-15", false},
		{"unlimited without none or window", exists, "2026-01-15", true},
		{"the policy's own limit", withAge, "2026-01-15", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attrs := withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"observations": hba1c()})
			b := scenario{s: s, attrs: attrs, policy: tc.policy, issued: tc.issued}.build(t)
			err := b.solve(t)
			if tc.holds != (err == nil) {
				t.Fatalf("err = %v, want holds = %v", err, tc.holds)
			}
		})
	}
}
