package fhir

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/internal/encode"
)

// TestSNOMEDMapCovers: the shipped map covers the concepts the issue names, and every active
// condition of the fixtures.
func TestSNOMEDMapCovers(t *testing.T) {
	for _, tc := range []struct {
		concept, sctid, family string
	}{
		{"type 2 diabetes", "44054006", "E11"},
		{"type 1 diabetes", "46635009", "E10"},
		{"diabetes, unspecified type", "73211009", "E08-E13"},
		{"hypertension", "38341003", "I10-I16"},
		{"essential hypertension", "59621000", "I10"},
		{"chronic kidney disease", "709044004", "N18"},
		{"CKD stage 3", "433144002", "N18.3"},
		{"end-stage renal disease", "46177005", "N18.6"},
		{"myocardial infarction", "22298006", "I21-I22"},
		{"history of MI", "399211009", "I25.2"},
		{"stroke", "230690007", "I60-I63"},
		{"cerebral infarction", "432504007", "I63"},
		{"obesity", "414916001", "E66"},
		{"BMI 30+", "162864005", "E66"},
		{"prediabetes", "15777000", "R73.03"},
	} {
		m, ok := SNOMEDToICD10CM(tc.sctid)
		if !ok || m.Family != tc.family {
			t.Errorf("%s (%s): %+v, want family %s", tc.concept, tc.sctid, m, tc.family)
		}
	}
	for name, data := range allFixtures(t) {
		a, err := ClinicalAttributes(data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if truncated(t, a, "conditions") {
			t.Errorf("%s: an active condition is not in the map", name)
		}
	}
}

func TestSNOMEDMapData(t *testing.T) {
	rows := SNOMEDMap()
	if len(rows) < 50 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		if _, err := encode.ICD10(r.ICD10CM); err != nil || r.Term == "" {
			t.Errorf("row %+v: %v", r, err)
		}
	}
	for _, bad := range []struct{ name, csv, want string }{
		{"header", "a,b,c,d\n", "header"},
		{"bad sctid", "snomed,icd10cm,family,term\n0,E11.9,E11,x\n", "SNOMED"},
		{"bad icd", "snomed,icd10cm,family,term\n1,E1,E11,x\n", "ICD-10"},
		{"outside family", "snomed,icd10cm,family,term\n1,E10.9,E11,x\n", "not in its family"},
		{"repeated", "snomed,icd10cm,family,term\n1,E11.9,E11,x\n1,E11.9,E11,x\n", "repeated"},
		{"columns", "snomed,icd10cm,family,term\n1,E11.9\n", "fields"},
	} {
		if _, err := parseSNOMEDMap(bad.csv); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: got %v, want %q", bad.name, err, bad.want)
		}
	}
}

// TestSyntheaConditionCodesCovered: every SNOMED CT code Synthea's modules emit as a Condition
// (testdata/synthea_condition_codes.csv, with the modules that emit each) is either mapped to
// ICD-10-CM or listed as not a diagnosis, so a Synthea patient's conditions list is not marked
// incomplete for want of a map row.
func TestSyntheaConditionCodesCovered(t *testing.T) {
	data, err := os.ReadFile("testdata/synthea_condition_codes.csv")
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(strings.NewReader(string(data)))
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	mapped, skipped := 0, 0
	for _, rec := range recs[1:] {
		_, ok := SNOMEDToICD10CM(rec[0])
		switch {
		case ok:
			mapped++
		case NotADiagnosis(rec[0]):
			skipped++
		default:
			t.Errorf("Synthea condition %s (%s, from %s) is neither mapped nor listed as not a diagnosis", rec[0], rec[1], rec[2])
		}
	}
	t.Logf("%d Synthea condition codes: %d mapped to ICD-10-CM, %d not diagnoses", len(recs)-1, mapped, skipped)
}

// TestNotADiagnosisIsLeftOutSoundly: a Condition coded only with a concept that is not a
// diagnosis is left out without marking the list incomplete; an unknown concept still marks it.
func TestNotADiagnosisIsLeftOutSoundly(t *testing.T) {
	employed := cond("active", SystemSNOMED, "160903007", "2020-01-01") // Full-time employment (finding)
	a, err := ClinicalAttributes(bundleOf(employed), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(listOf(t, a, "conditions")); n != 0 || truncated(t, a, "conditions") {
		t.Fatalf("%d conditions, incomplete %v; want 0, complete", n, truncated(t, a, "conditions"))
	}
	a, err = ClinicalAttributes(bundleOf(employed, cond("active", SystemSNOMED, "999999999", "2020-01-01")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !completenessOf(t, a, "conditions").Incomplete {
		t.Fatal("an unmapped concept did not mark the list incomplete")
	}
}
