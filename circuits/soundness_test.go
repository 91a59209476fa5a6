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
		{"none over complete list of 16", cli, map[string]any{"conditions": manyConditions(16)}, `{"list":"conditions","match":"none","code":["I21"]}`, true},
		{"none over truncated list fails", cli, map[string]any{"conditions": manyConditions(17)}, `{"list":"conditions","match":"none","code":["I21"]}`, false},
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
		{"exists over truncated list", cli, map[string]any{"conditions": manyConditions(17)}, `{"list":"conditions","match":"exists","code":["J06"]}`, true},
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
			err = solve(t, tc.s, b.witness)
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

// manyConditions returns n distinct J-code conditions, newest first.
func manyConditions(n int) []map[string]any {
	var codes []string
	for i := range n {
		codes = append(codes, fmt.Sprintf("J%02d.9", 6+i), fmt.Sprintf("2020-01-%02d", 28-i))
	}
	return conditions(codes...)
}

// TestPaddingNeverMatches: slots beyond a list's length are zero padding; a compiled family that
// covers code 0 must still never see them.
func TestPaddingNeverMatches(t *testing.T) {
	testfixture.Quiet()
	s := schema.Clinical()
	attrs := withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"conditions": conditions()})
	for _, tc := range []struct {
		match int
		holds bool
	}{{schema.MatchExists, false}, {schema.MatchNone, true}} {
		b := scenario{s: s, attrs: attrs, policy: clinicalPolicy(`{"list":"conditions","match":"none","code":["E11"]}`)}.build(t)
		vals := cloneInts(b.compiled.Values)
		pl := s.PolicyLayout()
		vals[pl.Index(schema.FamilyField("conditions", 0, "lo"))] = big.NewInt(0)
		vals[pl.Index(schema.PredField(0, "match"))] = big.NewInt(int64(tc.match))
		b.witness.Policy = vals
		b.witness.PolicyHash = rehash(t, s, vals)
		err := solve(t, s, b.witness)
		if tc.holds != (err == nil) {
			t.Fatalf("match %d over padding only: err=%v, want holds=%v", tc.match, err, tc.holds)
		}
	}
}

// TestOneValueRangePerPredicate: a compiled policy naming two value ranges for one predicate is
// refused by the constraint system (a predicate's value condition is one range or none).
func TestOneValueRangePerPredicate(t *testing.T) {
	testfixture.Quiet()
	s := schema.Clinical()
	b := scenario{s: s, attrs: testfixture.ClinicalAttrs, policy: clinicalPolicy(
		`{"list":"observations","match":"exists","code":["4548-4"],"value":[7.5,11.0]},{"list":"observations","match":"exists","code":["39156-5"],"value":[25.0,35.0]}`)}.build(t)
	if err := solve(t, s, b.witness); err != nil {
		t.Fatalf("honest witness rejected: %v", err)
	}
	vals := cloneInts(b.compiled.Values)
	pl := s.PolicyLayout()
	vals[pl.Index(schema.PredField(0, "range/1"))] = big.NewInt(1) // predicate 0 now names ranges 0 and 1
	b.witness.Policy = vals
	b.witness.PolicyHash = rehash(t, s, vals)
	if solve(t, s, b.witness) == nil {
		t.Fatal("two value ranges on one predicate accepted")
	}
}

// TestCredentialSoundness: attacks on the credential and holder binding.
func TestCredentialSoundness(t *testing.T) {
	testfixture.Quiet()
	s := schema.Clinical()
	trial := clinicalPolicy(`{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]}`)
	high := withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"observations": hba1c(obs{12.0, "2026-10-09"})})
	cl := s.CredentialLayout()
	valueField := cl.Index(schema.EntryField("observations", 0, "value"))

	t.Run("honest", func(t *testing.T) {
		b := scenario{s: s, attrs: testfixture.ClinicalAttrs, policy: trial}.build(t)
		if err := solve(t, s, b.witness); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("tampered attribute", func(t *testing.T) {
		b := scenario{s: s, attrs: high, policy: trial}.build(t)
		b.witness.Credential[valueField] = big.NewInt(800) // 8.00 %: satisfies, but not what was signed
		if solve(t, s, b.witness) == nil {
			t.Fatal("tampered attribute accepted")
		}
	})
	t.Run("signature by another issuer key", func(t *testing.T) {
		b := scenario{s: s, attrs: testfixture.ClinicalAttrs, policy: trial}.build(t)
		other := testfixture.Issue(t, s, testfixture.ClinicalAttrs, "2026-11-01", "2027-11-01")
		b.witness.Issuer = other.Issuer.Public()
		if solve(t, s, b.witness) == nil {
			t.Fatal("signature accepted under another issuer key")
		}
	})
	t.Run("wrong holder secret", func(t *testing.T) {
		b := scenario{s: s, attrs: testfixture.ClinicalAttrs, policy: trial}.build(t)
		thief, _ := credential.GenerateHolderKey(nil)
		b.witness.HolderSecret = thief.Element()
		b.witness.Nullifier = thief.Nullifier(b.compiled.Scope)
		if solve(t, s, b.witness) == nil {
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
			if err := solve(t, s, b.witness); tc.holds != (err == nil) {
				t.Fatalf("err=%v, want holds=%v", err, tc.holds)
			}
		})
	}
	// Packing aliasing: move 2^width between a field and its neighbour in the same element, so the
	// packed vector (and so the signature) is unchanged but a field leaves its declared width.
	t.Run("value beyond its width extends validity", func(t *testing.T) {
		b := scenario{s: s, attrs: old, policy: diabetic, issued: "2025-01-01", expires: "2025-12-31"}.build(t)
		alias(t, cl, b.witness.Credential, schema.FieldExpiresOn, 1)
		if solve(t, s, b.witness) == nil {
			t.Fatal("expires_on beyond 17 bits accepted")
		}
	})
	t.Run("negative value", func(t *testing.T) {
		var sixteen []obs
		for j := range 16 {
			sixteen = append(sixteen, obs{12.0, fmt.Sprintf("2026-10-%02d", 20-j)})
		}
		all := withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"observations": hba1c(sixteen...)})
		b := scenario{s: s, attrs: all, policy: clinicalPolicy(`{"list":"observations","match":"none","code":["4548-4"],"value":[6.5,100.0]}`)}.build(t)
		// pick an entry whose value shares its packed element with the next field
		j := 0
		for ; j < 16; j++ {
			i := cl.Index(schema.EntryField("observations", j, "value"))
			if cl.Positions[i+1].Element == cl.Positions[i].Element {
				break
			}
		}
		alias(t, cl, b.witness.Credential, schema.EntryField("observations", j, "value"), -1)
		if solve(t, s, b.witness) == nil {
			t.Fatal("negative lab value accepted")
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
			if solve(t, s, b.witness) == nil {
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
		if solve(t, s, b.witness, solver.OverrideHint(solver.GetHintID(circuits.GreaterOrEqualHint), yes)) == nil {
			t.Fatal("lying comparator accepted")
		}
	})
	t.Run("argmax picks the older in-range entry", func(t *testing.T) {
		b := scenario{s: s, attrs: newerHigh, policy: latest}.build(t)
		older := func(_ *big.Int, _, out []*big.Int) error {
			for j := range out {
				out[j].SetInt64(0)
			}
			out[1].SetInt64(1) // entries are newest first: index 1 is the 8.0 % from October
			return nil
		}
		if solve(t, s, b.witness, solver.OverrideHint(solver.GetHintID(circuits.ArgmaxHint), older)) == nil {
			t.Fatal("latest satisfied by an older entry")
		}
	})
	t.Run("argmax picks the first of two same-day entries", func(t *testing.T) {
		// same day: 8.0 % listed first, 12.0 % listed last; only the last listed is the latest
		tie := withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"observations": hba1c(obs{8.0, "2026-10-09"}, obs{12.0, "2026-10-09"})})
		b := scenario{s: s, attrs: tie, policy: latest}.build(t)
		first := func(_ *big.Int, _, out []*big.Int) error {
			for j := range out {
				out[j].SetInt64(0)
			}
			out[0].SetInt64(1)
			return nil
		}
		if solve(t, s, b.witness, solver.OverrideHint(solver.GetHintID(circuits.ArgmaxHint), first)) == nil {
			t.Fatal("a same-day tie resolved both ways")
		}
	})
	t.Run("prefix mask exposes padding", func(t *testing.T) {
		b := scenario{s: s, attrs: testfixture.ClinicalAttrs, policy: latest}.build(t)
		all := func(_ *big.Int, _, out []*big.Int) error {
			for j := range out {
				out[j].SetInt64(1)
			}
			return nil
		}
		if solve(t, s, b.witness, solver.OverrideHint(solver.GetHintID(circuits.PrefixMaskHint), all)) == nil {
			t.Fatal("prefix mask longer than the signed length accepted")
		}
	})
	t.Run("honest hints", func(t *testing.T) {
		b := scenario{s: s, attrs: testfixture.ClinicalAttrs, policy: latest}.build(t)
		if err := solve(t, s, b.witness); err != nil {
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
			err := solve(t, s, b.witness)
			if tc.holds != (err == nil) {
				t.Fatalf("err = %v, want holds = %v", err, tc.holds)
			}
		})
	}
}
