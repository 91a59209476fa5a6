package fhir

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/policy"
)

// Characteristic helpers: concepts and quantities.
func concept(system, code string) string {
	return `{"coding": [{"system": "` + system + `", "code": "` + code + `"}]}`
}

func qty(v, code string) string {
	return `{"value": ` + v + `, "system": "` + SystemUCUM + `", "code": "` + code + `"}`
}

// groupChar is an R4 Group.characteristic.
func groupChar(code, value string, exclude bool) string {
	ex := "false"
	if exclude {
		ex = "true"
	}
	return `{"code": ` + code + `, ` + value + `, "exclude": ` + ex + `}`
}

// r4Trial is an R4 ResearchStudy whose enrollment names a Group with these characteristics.
func r4Trial(chars ...string) []byte {
	return []byte(`{"resourceType": "Bundle", "type": "collection", "entry": [
	  {"fullUrl": "http://example.org/fhir/ResearchStudy/s1", "resource": {"resourceType": "ResearchStudy", "id": "s1", "status": "active",
	    "identifier": [{"system": "https://clinicaltrials.gov", "value": "NCT04556851"}],
	    "enrollment": [{"reference": "Group/g1"}]}},
	  {"fullUrl": "http://example.org/fhir/Group/g1", "resource": {"resourceType": "Group", "id": "g1", "type": "person", "actual": false,
	    "characteristic": [` + strings.Join(chars, ",") + `]}}]}`)
}

// ev is an R5 EvidenceVariable with these characteristics.
func ev(chars ...string) []byte {
	return []byte(`{"resourceType": "EvidenceVariable", "id": "t2dm", "status": "active", "characteristic": [` + strings.Join(chars, ",") + `]}`)
}

const (
	disease   = `{"coding": [{"system": "http://snomed.info/sct", "code": "64572001", "display": "Disease"}]}`
	ageCode   = `{"coding": [{"system": "http://loinc.org", "code": "30525-0"}]}`
	sexCode   = `{"coding": [{"system": "http://loinc.org", "code": "46098-0"}]}`
	drug      = `{"coding": [{"system": "http://snomed.info/sct", "code": "410942007"}], "text": "Drug"}`
	hba1cCode = `{"coding": [{"system": "http://loinc.org", "code": "4548-4"}], "text": "HbA1c"}`
)

func predicates(t *testing.T, js string) []policy.Predicate {
	t.Helper()
	var ps []policy.Predicate
	if err := json.Unmarshal([]byte(js), &ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

func samePredicates(t *testing.T, got, want []policy.Predicate) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("predicates\n got %s\nwant %s", g, w)
	}
}

func TestPolicyFromR4Group(t *testing.T) {
	p, uns, err := PolicyFromFHIR(r4Trial(
		groupChar(ageCode, `"valueRange": {"low": `+qty("18", "a")+`, "high": `+qty("75", "a")+`}`, false),
		groupChar(sexCode, `"valueCodeableConcept": {"coding": [{"system": "`+SystemGender+`", "code": "female"}, {"system": "`+SystemGender+`", "code": "male"}]}`, false),
		groupChar(disease, `"valueCodeableConcept": `+concept(SystemICD10CM, "E11"), false),
		groupChar(hba1cCode, `"valueRange": {"low": `+qty("53", "mmol/mol")+`, "high": `+qty("10.5", "%")+`}`, false),
		groupChar(disease, `"valueCodeableConcept": `+concept(SystemSNOMED, "22298006"), true),
		groupChar(drug, `"valueCodeableConcept": `+concept(SystemRxNorm, "860975"), false),
		groupChar(concept(SystemICD10CM, "E10"), `"valueBoolean": false`, false),
		groupChar(ageCode, `"valueQuantity": {"value": 65, "comparator": ">=", "unit": "a"}`, true),
		// Unsupported:
		groupChar(disease, `"valueCodeableConcept": `+concept(SystemSNOMED, "999999999"), false),
		groupChar(hba1cCode, `"valueQuantity": `+qty("10", "%"), true),
		groupChar(disease, `"valueReference": {"reference": "Condition/x"}`, false),
		`{"code": `+disease+`, "valueCodeableConcept": `+concept(SystemICD10CM, "I10")+`, "exclude": false, "period": {"start": "2020-01-01"}}`,
		groupChar(hba1cCode, `"valueCodeableConcept": `+concept(SystemSNOMED, "75540009"), false),
		groupChar(concept(SystemLOINC, "788-0"), `"valueQuantity": `+qty("14", "%"), false), // RDW: no canonical unit
	))
	if err != nil {
		t.Fatal(err)
	}
	if p.Schema != "clinical" || p.Scope != "trial:NCT04556851" {
		t.Errorf("schema %q scope %q", p.Schema, p.Scope)
	}
	samePredicates(t, p.Predicates, predicates(t, `[
	  {"attribute": "age", "op": "between", "value": [18, 75]},
	  {"attribute": "sex", "op": "in", "value": ["female", "male"]},
	  {"list": "conditions", "match": "exists", "code": ["E11"]},
	  {"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.01, 10.5]},
	  {"list": "conditions", "match": "none", "code": ["I21-I22"]},
	  {"list": "medications", "match": "exists", "code": ["860975"]},
	  {"list": "conditions", "match": "none", "code": ["E10"]},
	  {"attribute": "age", "op": "lt", "value": 65}]`))
	wantPaths := []string{"[8]", "[9]", "[10]", "[11]", "[12]", "[13]"}
	if len(uns) != len(wantPaths) {
		t.Fatalf("unsupported %v, want %d", uns, len(wantPaths))
	}
	for i, u := range uns {
		if u.Path != "Group[0].characteristic"+wantPaths[i] || u.Reason == "" {
			t.Errorf("unsupported[%d] = %v, want path ...%s", i, u, wantPaths[i])
		}
	}
	if !strings.Contains(uns[0].Reason, "no ICD-10-CM family") || !strings.Contains(uns[1].Reason, "excluded value range") || !strings.Contains(uns[3].Reason, "period") {
		t.Errorf("reasons: %v", uns)
	}
}

// t2dmEV is the T2DM policy of the proving tests written as an R5 EvidenceVariable.
var t2dmEV = ev(
	`{"description": "type 2 diabetes", "definitionByTypeAndValue": {"type": `+concept(SystemLOINC, "29308-4")+`, "valueCodeableConcept": `+concept(SystemICD10CM, "E11")+`}}`,
	`{"description": "latest HbA1c 7.0-10.5 % in the last year", "definitionByTypeAndValue": {"type": `+hba1cCode+`,
	   "valueRange": {"low": `+qty("7.0", "%")+`, "high": `+qty("10.5", "%")+`}},
	  "timeFromEvent": [{"range": {"low": `+qty("-365", "d")+`, "high": `+qty("0", "d")+`}}]}`,
)

func TestPolicyFromR5EvidenceVariable(t *testing.T) {
	t.Run("t2dm", func(t *testing.T) {
		p, uns, err := PolicyFromFHIR(t2dmEV)
		if err != nil || len(uns) != 0 {
			t.Fatal(err, uns)
		}
		if p.Scope != "criteria:EvidenceVariable/t2dm" {
			t.Errorf("scope %q", p.Scope)
		}
		samePredicates(t, p.Predicates, predicates(t, t2dmPredicates("latest")))
	})
	mo6 := `"timeFromEvent": [{"quantity": ` + qty("6", "mo") + `}]`
	p, uns, err := PolicyFromFHIR(ev(
		`{"description": "no MI or stroke in 6 months", "exclude": true, "definitionByCombination": {"code": "any-of", "characteristic": [
		   {"definitionCodeableConcept": `+concept(SystemSNOMED, "22298006")+`, `+mo6+`},
		   {"definitionCodeableConcept": `+concept(SystemICD10CM, "I63")+`, `+mo6+`}]}}`,
		`{"description": "metformin or insulin glargine", "definitionByCombination": {"code": "any-of", "characteristic": [
		   {"definitionCodeableConcept": `+concept(SystemRxNorm, "860975")+`},
		   {"definitionCodeableConcept": `+concept(SystemRxNorm, "274783")+`}]}}`,
		`{"description": "adult woman", "definitionByCombination": {"code": "all-of", "characteristic": [
		   {"definitionByTypeAndValue": {"type": `+ageCode+`, "valueQuantity": {"value": 18, "comparator": ">", "system": "`+SystemUCUM+`", "code": "a"}}},
		   {"definitionByTypeAndValue": {"type": `+sexCode+`, "valueCodeableConcept": `+concept(SystemGender, "female")+`}}]}}`,
		`{"description": "not (pregnant and smoker)", "exclude": true, "definitionByCombination": {"code": "all-of", "characteristic": [
		   {"definitionCodeableConcept": `+concept(SystemICD10CM, "Z33.1")+`}, {"definitionCodeableConcept": `+concept(SystemICD10CM, "F17")+`}]}}`,
		`{"description": "two of three", "definitionByCombination": {"code": "at-least", "threshold": 2, "characteristic": [{"definitionCodeableConcept": `+concept(SystemICD10CM, "E11")+`}]}}`,
		`{"description": "young or diabetic", "definitionByCombination": {"code": "any-of", "characteristic": [
		   {"definitionByTypeAndValue": {"type": `+ageCode+`, "valueQuantity": {"value": 30, "comparator": "<", "unit": "a"}}},
		   {"definitionCodeableConcept": `+concept(SystemICD10CM, "E11")+`}]}}`,
		`{"description": "computed", "definitionExpression": {"language": "text/cql", "expression": "X"}}`,
		`{"description": "twice", "definitionCodeableConcept": `+concept(SystemICD10CM, "E11")+`, "instancesQuantity": {"value": 2}}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	samePredicates(t, p.Predicates, predicates(t, `[
	  {"list": "conditions", "match": "none", "code": ["I21-I22"], "within_days": 183},
	  {"list": "conditions", "match": "none", "code": ["I63"], "within_days": 183},
	  {"list": "medications", "match": "exists", "code": ["860975", "274783"]},
	  {"attribute": "age", "op": "gte", "value": 19},
	  {"attribute": "sex", "op": "in", "value": ["female"]}]`))
	var paths []string
	for _, u := range uns {
		paths = append(paths, u.Path)
		if u.Text == "" || u.Reason == "" {
			t.Errorf("unsupported without text or reason: %v", u)
		}
	}
	want := "EvidenceVariable[0].characteristic[3] EvidenceVariable[0].characteristic[4] EvidenceVariable[0].characteristic[5] EvidenceVariable[0].characteristic[6] EvidenceVariable[0].characteristic[7]"
	if strings.Join(paths, " ") != want {
		t.Errorf("unsupported %v", uns)
	}
}

// TestCriteriaUnitBoundary: an HbA1c bound written in mmol/mol is converted to % and rounded
// inward (53 mmol/mol = 7.0004 % becomes a low bound of 7.01 %), so no value below the bound as
// written is admitted. A lab value reported in mmol/mol is converted and rounded to the nearest
// 0.01 % by the issuer: 53 mmol/mol signs as 7.00 % and no longer meets the bound (it lost its
// 0.0004 % to the encoding); 53.1 mmol/mol signs as 7.01 % and does.
func TestCriteriaUnitBoundary(t *testing.T) {
	p, _, err := PolicyFromFHIR(ev(`{"definitionByTypeAndValue": {"type": ` + hba1cCode + `, "valueQuantity": {"value": 53, "comparator": ">=", "unit": "mmol/mol"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var rng []float64
	if err := json.Unmarshal(p.Predicates[0].Value, &rng); err != nil || rng[0] != 7.01 {
		t.Fatalf("range %v %v, want low 7.01", rng, err)
	}
	for _, tc := range []struct {
		mmol float64
		ok   bool
	}{{53.1, true}, {53, false}, {52.9, false}, {120, true}} { // 53.1 → 7.0096 → 7.01; 53 → 7.0004 → 7.00
		a, err := ClinicalAttributes(bundleOf(obs("4548-4", "2026-01-01", tc.mmol, "mmol/mol")), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := satisfies(t, a, p, "2026-06-01"); got != tc.ok {
			t.Errorf("%v mmol/mol satisfies = %v, want %v", tc.mmol, got, tc.ok)
		}
	}
}

// satisfies evaluates the policy natively on the attributes.
func satisfies(t *testing.T, a *credential.Attributes, p *policy.Policy, asOf string) bool {
	t.Helper()
	c, err := p.Compile(asOf)
	if err != nil {
		t.Fatal(err)
	}
	failing, err := c.Evaluate(a)
	if err != nil {
		t.Fatal(err)
	}
	return failing < 0
}

func TestPolicyFromFHIRErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, path, want string
	}{
		{"not json", `[`, "input", "malformed JSON at line 1, column 2: unexpected end of input"},
		{"no criteria", `{"resourceType": "Patient"}`, "input", "no ResearchStudy"},
		{"group without exclude", string(r4Trial(`{"code": ` + disease + `, "valueBoolean": true}`)), "Group[0].characteristic[0].exclude", "required"},
		{"group without code", string(r4Trial(`{"valueBoolean": true, "exclude": false}`)), "Group[0].characteristic[0].code", "required"},
		{"group exclude wrong type", string(r4Trial(`{"code": ` + disease + `, "valueBoolean": true, "exclude": "no"}`)), "Group[0].characteristic[0].exclude", "want a boolean"},
		{"group without value", string(r4Trial(`{"code": ` + disease + `, "exclude": false}`)), "Group[0].characteristic[0].value[x]", "required"},
		{"bad icd", string(r4Trial(groupChar(disease, `"valueCodeableConcept": `+concept(SystemICD10CM, "11E"), false))), "Group[0].characteristic[0].valueCodeableConcept.coding[0].code", "ICD-10-CM"},
		{"bad gender", string(r4Trial(groupChar(sexCode, `"valueCodeableConcept": `+concept(SystemGender, "f"), false))), "Group[0].characteristic[0].valueCodeableConcept.coding[0].code", "administrative-gender"},
		{"dangling enrollment", strings.Replace(string(r4Trial()), "Group/g1", "Group/g2", 1), "ResearchStudy[0].enrollment[0].reference", "does not resolve"},
		{"ev without status", `{"resourceType": "EvidenceVariable", "characteristic": [{"definitionCodeableConcept": ` + concept(SystemICD10CM, "E11") + `}]}`, "EvidenceVariable[0].status", "required"},
		{"ev without definition", string(ev(`{"description": "x"}`)), "EvidenceVariable[0].characteristic[0].definition[x]", "required"},
		{"combination code", string(ev(`{"definitionByCombination": {"code": "some-of", "characteristic": [{"definitionCodeableConcept": ` + concept(SystemICD10CM, "E11") + `}]}}`)), "EvidenceVariable[0].characteristic[0].definitionByCombination.code", "value set"},
		{"nothing expressible", string(ev(`{"definitionExpression": {"language": "text/cql", "expression": "X"}}`)), "EvidenceVariable[0]", "no criterion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := PolicyFromFHIR([]byte(tc.in))
			wantFHIRError(t, err, tc.path, []string{tc.want})
		})
	}
	t.Run("too many predicates", func(t *testing.T) {
		var chars []string
		for i := 0; i < 17; i++ {
			chars = append(chars, groupChar(ageCode, `"valueQuantity": {"value": 18, "comparator": ">=", "unit": "a"}`, false))
		}
		_, _, err := PolicyFromFHIR(r4Trial(chars...))
		if err == nil || !strings.Contains(err.Error(), "circuit holds 16") {
			t.Fatalf("got %v", err)
		}
	})
}
