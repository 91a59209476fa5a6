package fhir

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/schema"
)

// TestFixturesBecomeCredentials: every shared Synthea bundle becomes a clinical credential that
// decodes back to exactly what was signed (normal form), with the facts its README states.
func TestFixturesBecomeCredentials(t *testing.T) {
	ik, err := credential.GenerateIssuerKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := credential.GenerateHolderKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range allFixtures(t) {
		t.Run(name, func(t *testing.T) {
			a, err := ClinicalAttributes(data, Options{})
			if err != nil {
				t.Fatalf("ClinicalAttributes: %v", err)
			}
			cred, err := credential.IssueAttributes(ik, a, hk.Commitment(), "2021-01-31", "2022-01-31", nil)
			if err != nil {
				t.Fatalf("issue: %v", err)
			}
			d, err := cred.Decode()
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if err := d.Verify(); err != nil {
				t.Fatalf("verify: %v", err)
			}
		})
	}
	for _, tc := range []struct {
		name, birth    string
		conditions     []string // ICD-10-CM codes that must be listed (resolved ones included)
		absent         []string // codes that must not be listed
		hba1c          string   // latest HbA1c, "" for none
		condIncomplete bool
	}{
		{louis, "1976-01-16", []string{"E11.9", "E66.9", "G40.909", "E78.1", "E88.81", "J01.90", "J20.9"}, nil, "7.5", false},
		{fabian, "1981-02-14", []string{"E11.9", "R73.03", "R73.9", "I46.9", "Z86.74", "J01.90", "S13.4XXA"}, nil, "6.07", false},
		{lupe, "1982-04-07", []string{"R73.03", "D64.9", "J02.9"}, []string{"E11.9"}, "6.19", false},
		{clemente, "1984-07-02", []string{"E66.9"}, nil, "", false},
		{ned, "1993-12-08", []string{"E66.9", "J01.90"}, nil, "", false},
	} {
		t.Run("facts/"+tc.name, func(t *testing.T) {
			a, err := ClinicalAttributes(fixture(t, tc.name), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := scalar(t, a, "birth_date"); got != tc.birth {
				t.Errorf("birth_date %s, want %s", got, tc.birth)
			}
			if got := scalar(t, a, "sex"); got != "male" {
				t.Errorf("sex %s, want male", got)
			}
			codes := map[string]bool{}
			for _, e := range listOf(t, a, "conditions") {
				codes[e.Code] = true
			}
			for _, c := range tc.conditions {
				if !codes[c] {
					t.Errorf("condition %s missing from %v", c, codes)
				}
			}
			for _, c := range tc.absent {
				if codes[c] {
					t.Errorf("condition %s listed", c)
				}
			}
			if truncated(t, a, "conditions") != tc.condIncomplete {
				t.Errorf("conditions truncated = %v", !tc.condIncomplete)
			}
			// the whole record is signed: the latest HbA1c is among the observations
			if c := completenessOf(t, a, "observations"); !c.Complete() {
				t.Errorf("observations %+v, want complete", c)
			}
			e, ok := latest(listOf(t, a, "observations"), "4548-4")
			switch {
			case tc.hba1c == "" && ok:
				t.Errorf("HbA1c listed: %v", *e.Value)
			case tc.hba1c != "" && (!ok || fmt.Sprint(*e.Value) != tc.hba1c):
				t.Errorf("latest HbA1c %v (%v), want %s", fmt.Sprint(e.Value), ok, tc.hba1c)
			}
		})
	}
}

// TestConditionStatus: every condition of the record is signed with its clinical and verification
// status (resolved, inactive and differential ones included, so `none` sees them and `exists`
// can tell them apart); refuted and entered-in-error ones are not part of the record.
func TestConditionStatus(t *testing.T) {
	for _, tc := range []struct {
		clinical, verification string
		listed                 bool
		wantVerification       string
	}{
		{"active", "", true, "confirmed"},
		{"recurrence", "", true, "confirmed"},
		{"relapse", "confirmed", true, "confirmed"},
		{"active", "provisional", true, "provisional"},
		{"active", "differential", true, "differential"},
		{"inactive", "", true, "confirmed"},
		{"remission", "", true, "confirmed"},
		{"resolved", "confirmed", true, "confirmed"},
		{"active", "refuted", false, ""},
		{"active", "entered-in-error", false, ""},
	} {
		t.Run(tc.clinical+"/"+tc.verification, func(t *testing.T) {
			c := cond(tc.clinical, SystemICD10CM, "E11.9", "2020-01-01")
			if tc.verification != "" {
				c = strings.Replace(c, `"code": {`, `"verificationStatus": {"coding": [{"system": "`+SystemConditionVer+`", "code": "`+tc.verification+`"}]}, "code": {`, 1)
			}
			a, err := ClinicalAttributes(bundleOf(c), Options{})
			if err != nil {
				t.Fatal(err)
			}
			list := listOf(t, a, "conditions")
			if got := len(list) == 1; got != tc.listed {
				t.Fatalf("listed = %v, want %v", got, tc.listed)
			}
			if !tc.listed {
				return
			}
			e := list[0]
			if e.Status != tc.clinical || e.Verification != tc.wantVerification {
				t.Errorf("statuses %s/%s, want %s/%s", e.Status, e.Verification, tc.clinical, tc.wantVerification)
			}
			// an abated condition without an abatement date ended on a date the record does not give
			wantEnd := ""
			if tc.clinical == "inactive" || tc.clinical == "remission" || tc.clinical == "resolved" {
				wantEnd = credential.EndUnknown
			}
			if e.End != wantEnd {
				t.Errorf("abatement %q, want %q", e.End, wantEnd)
			}
		})
	}
}

// TestConditionAbatement: abatement[x] becomes the end of the condition's period.
func TestConditionAbatement(t *testing.T) {
	for _, tc := range []struct {
		name, status, abatement, want string
	}{
		{"dateTime", "resolved", `"abatementDateTime": "2026-10-05T10:00:00Z"`, "2026-10-05"},
		{"period end", "resolved", `"abatementPeriod": {"start": "2026-10-01", "end": "2026-10-05"}`, "2026-10-05"},
		{"age", "resolved", `"abatementAge": {"value": 50, "unit": "a"}`, credential.EndUnknown},
		{"string", "remission", `"abatementString": "in the spring"`, credential.EndUnknown},
		{"none while active", "active", ``, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cond(tc.status, SystemICD10CM, "I21.4", "2026-09-20")
			if tc.abatement != "" {
				c = strings.Replace(c, `"code": {`, tc.abatement+`, "code": {`, 1)
			}
			a, err := ClinicalAttributes(bundleOf(c), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := listOf(t, a, "conditions")[0].End; got != tc.want {
				t.Errorf("end %q, want %q", got, tc.want)
			}
		})
	}
}

func TestConditionCodes(t *testing.T) {
	both := `{"resourceType": "Condition", ` + subject + `,
	  "clinicalStatus": {"coding": [{"system": "` + SystemConditionClin + `", "code": "active"}]},
	  "code": {"coding": [{"system": "` + SystemSNOMED + `", "code": "44054006"}, {"system": "` + SystemICD10CM + `", "code": "e11.65"}]},
	  "onsetPeriod": {"start": "2019-03-02"}}`
	recorded := strings.Replace(cond("active", SystemSNOMED, "38341003", "x"), `"onsetDateTime": "x"`, `"recordedDate": "2018-07-09T23:30:00-05:00"`, 1)
	for _, tc := range []struct {
		name       string
		conditions []string
		want       []string // code@onset, newest first
		incomplete bool
	}{
		{"icd10cm as written", []string{cond("active", SystemICD10CM, "I10", "2012-06-10")}, []string{"I10@2012-06-10"}, false},
		{"icd10cm wins over snomed", []string{both}, []string{"E11.65@2019-03-02"}, false},
		{"snomed mapped", []string{cond("active", SystemSNOMED, "44054006", "2020-01-31T19:28:31+00:00")}, []string{"E11.9@2020-01-31"}, false},
		{"recordedDate in UTC", []string{recorded}, []string{"I10@2018-07-10"}, false},
		{"unmapped snomed marks incomplete", []string{cond("active", SystemSNOMED, "44054006", "2020-01-01"), cond("active", SystemSNOMED, "999999999", "2020-01-01")}, []string{"E11.9@2020-01-01"}, true},
		{"unmapped resolved marks incomplete too", []string{cond("resolved", SystemSNOMED, "999999999", "2020-01-01")}, nil, true},
		{"duplicates merge", []string{cond("active", SystemSNOMED, "59621000", "2010-01-01"), cond("active", SystemICD10CM, "I10", "2010-01-01")}, []string{"I10@2010-01-01"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ClinicalAttributes(bundleOf(tc.conditions...), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range listOf(t, a, "conditions") {
				got = append(got, e.Code+"@"+e.Date)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("conditions %v, want %v", got, tc.want)
			}
			if truncated(t, a, "conditions") != tc.incomplete {
				t.Errorf("truncated %v, want %v", !tc.incomplete, tc.incomplete)
			}
		})
	}
}

// TestObservationUnits converts values at the rounding and conversion boundaries of each
// supported unit to the canonical unit.
func TestObservationUnits(t *testing.T) {
	for _, tc := range []struct {
		code  string
		value float64
		unit  string
		want  float64
	}{
		{"4548-4", 7.5, "%", 7.5},
		{"4548-4", 6.995, "%", 7.0},   // half away from zero
		{"4548-4", 6.9949, "%", 6.99}, // just below
		{"4548-4", 53, "mmol/mol", 7.0},
		{"4548-4", 52.9, "mmol/mol", 6.99},
		{"4548-4", 91, "mmol/mol", 10.48},
		{"2339-0", 7, "mmol/L", 126.1},
		{"2345-7", 5.55, "mmol/l", 100.0},
		{"2345-7", 126, "mg/dL", 126},
		{"2160-0", 88.42, "umol/L", 1.0},
		{"2160-0", 87.98, "\u00b5mol/L", 1.0},  // 0.99502 → 1.00
		{"2160-0", 87.97, "\u03bcmol/L", 0.99}, // 0.99491 → 0.99
		{"2160-0", 1.2, "mg/dL", 1.2},
		{"33914-3", 59.95, "mL/min/{1.73_m2}", 60.0},
		{"33914-3", 59.94, "mL/min/1.73m2", 59.9},
		{"62238-1", 90, "mL/min", 90},
		{"39156-5", 29.995, "kg/m2", 30.0},
		{"29463-7", 220, "[lb_av]", 99.79},
		{"8480-6", 139.5, "mm[Hg]", 140},
		{"8462-4", 89.49, "mmHg", 89},
		{"718-7", 135, "g/L", 13.5},
	} {
		t.Run(fmt.Sprintf("%s/%v_%s", tc.code, tc.value, tc.unit), func(t *testing.T) {
			a, err := ClinicalAttributes(bundleOf(obs(tc.code, "2020-06-01", tc.value, tc.unit)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			es := listOf(t, a, "observations")
			canon, _ := encode.CanonicalUnit(tc.code)
			if len(es) != 1 || *es[0].Value != tc.want || es[0].Unit != canon.Unit {
				t.Fatalf("got %+v, want %v %s", es, tc.want, canon.Unit)
			}
		})
	}
}

func TestObservationForms(t *testing.T) {
	bp := `{"resourceType": "Observation", "status": "final", ` + subject + `,
	  "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
	  "effectivePeriod": {"start": "2020-02-03T08:00:00+01:00"},
	  "component": [
	    {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 128, "unit": "mmHg", "system": "` + SystemUCUM + `", "code": "mm[Hg]"}},
	    {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 79.6, "unit": "mm[Hg]"}}]}`
	ucumWins := strings.Replace(obs("2339-0", "2020-01-01", 5.0, "millimole per liter"), `"unit": "millimole per liter"`, `"unit": "millimole per liter", "system": "`+SystemUCUM+`", "code": "mmol/L"`, 1)
	absent := `{"resourceType": "Observation", "status": "final", ` + subject + `,
	  "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]}, "effectiveDateTime": "2020-01-01",
	  "dataAbsentReason": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-performed"}]}}`
	for _, tc := range []struct {
		name string
		obs  []string
		want []string // code=value@date, newest first
	}{
		{"blood pressure components", []string{bp}, []string{"8462-4=80@2020-02-03", "8480-6=128@2020-02-03"}},
		{"ucum code wins over display unit", []string{ucumWins}, []string{"2339-0=90.1@2020-01-01"}},
		{"data absent is skipped", []string{absent}, nil},
		{"preliminary is skipped", []string{strings.Replace(obs("4548-4", "2020-01-01", 7, "%"), `"final"`, `"preliminary"`, 1)}, nil},
		{"entered-in-error is skipped", []string{strings.Replace(obs("4548-4", "2020-01-01", 7, "%"), `"final"`, `"entered-in-error"`, 1)}, nil},
		{"every code with a canonical unit is signed", []string{obs("8302-2", "2020-01-01", 180, "cm")}, []string{"8302-2=180@2020-01-01"}},
		{"amended counts", []string{strings.Replace(obs("4548-4", "2020-01-01", 7, "%"), `"final"`, `"amended"`, 1)}, []string{"4548-4=7@2020-01-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ClinicalAttributes(bundleOf(tc.obs...), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range listOf(t, a, "observations") {
				got = append(got, fmt.Sprintf("%s=%v@%s", e.Code, *e.Value, e.Date))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestObservationCapacity: with more entries than the list holds, the newest are kept and the
// list says it is complete only since the day after the newest one left out, so a family's latest
// entry is never one of those left out.
func TestObservationCapacity(t *testing.T) {
	_, l, _ := schema.Clinical().List("observations")
	day := func(k int) string {
		return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, k).Format(time.DateOnly)
	}
	var rs []string
	// capacity + 4 daily weights from 2000-01-01, then one older HbA1c and one older eGFR
	for k := range l.Capacity + 4 {
		rs = append(rs, obs("29463-7", day(k), float64(50+k%40), "kg"))
	}
	rs = append(rs, obs("4548-4", "1999-01-01", 6.5, "%"), obs("33914-3", "1998-01-01", 80, "mL/min/{1.73_m2}"))
	a, err := ClinicalAttributes(bundleOf(rs...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	es := listOf(t, a, "observations")
	if len(es) != l.Capacity {
		t.Fatalf("%d entries, want %d", len(es), l.Capacity)
	}
	// kept: the weights from day 4 on; left out: days 0–3, the HbA1c and the eGFR
	if c := completenessOf(t, a, "observations"); c != (credential.Completeness{CompleteSince: day(4)}) {
		t.Fatalf("completeness %+v, want complete since %s", c, day(4))
	}
	for _, e := range es {
		if e.Date < day(4) {
			t.Errorf("kept an entry from %s, before complete_since", e.Date)
		}
	}
	t.Run("complete when it fits", func(t *testing.T) {
		a, err := ClinicalAttributes(bundleOf(rs[6:]...), Options{}) // capacity − 2 weights, the HbA1c, the eGFR
		if err != nil {
			t.Fatal(err)
		}
		if c := completenessOf(t, a, "observations"); c != (credential.Completeness{}) || len(listOf(t, a, "observations")) != l.Capacity {
			t.Fatalf("completeness %+v, %d entries", c, len(listOf(t, a, "observations")))
		}
	})
}

func TestLOINCOption(t *testing.T) {
	b := bundleOf(obs("4548-4", "2020-01-01", 7, "%"), obs("39156-5", "2020-01-01", 30, "kg/m2"))
	a, err := ClinicalAttributes(b, Options{LOINC: []string{"39156-5"}})
	if err != nil {
		t.Fatal(err)
	}
	if es := listOf(t, a, "observations"); len(es) != 1 || es[0].Code != "39156-5" {
		t.Errorf("got %+v, want only BMI", es)
	}
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"4548-4,39156-5", ""},
		{" 4548-4 , 4548-4 ", ""},
		{"", "at least one code"},
		{"4548-5", "check digit"},
		{"8302-2x", "malformed"},
		{"38265-5", "no canonical unit"}, // DXA T-score: negative values, left out of the table
		{strings.Repeat("4548-4,", MaxLOINCSet) + "4548-4", "at most 256 codes"},
	} {
		t.Run(fmt.Sprintf("%.24s", tc.in), func(t *testing.T) {
			_, err := ParseLOINCSet(tc.in)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrOption) || !errors.Is(err, credential.ErrMalformed)):
				t.Fatalf("got %v, want an ErrOption containing %q", err, tc.want)
			}
		})
	}
}

func TestMedications(t *testing.T) {
	rx := func(typ, status, extra string) string {
		return `{"resourceType": "` + typ + `", "status": "` + status + `", ` + subject + extra + `}`
	}
	cc := `, "medicationCodeableConcept": {"coding": [{"system": "` + SystemRxNorm + `", "code": "860975"}]}`
	med := `{"resourceType": "Medication", "id": "m1", "code": {"coding": [{"system": "` + SystemRxNorm + `", "code": "197361"}, {"system": "` + SystemSNOMED + `", "code": "1"}]}}`
	for _, tc := range []struct {
		name string
		res  []string
		want []string
	}{
		{"request", []string{rx("MedicationRequest", "active", `, "intent": "order", "authoredOn": "2016-01-01"`+cc)}, []string{"860975@2016-01-01"}},
		{"stopped request counts", []string{rx("MedicationRequest", "stopped", `, "intent": "order", "authoredOn": "2016-01-01"`+cc)}, []string{"860975@2016-01-01/stopped/unknown"}},
		{"plan is not a prescription", []string{rx("MedicationRequest", "active", `, "intent": "plan", "authoredOn": "2016-01-01"`+cc)}, nil},
		{"cancelled request is signed with its status", []string{rx("MedicationRequest", "cancelled", `, "intent": "order", "authoredOn": "2016-01-01"`+cc)}, []string{"860975@2016-01-01/cancelled/unknown"}},
		{"entered in error", []string{rx("MedicationRequest", "entered-in-error", `, "intent": "order", "authoredOn": "2016-01-01"`+cc)}, nil},
		{"statement period", []string{rx("MedicationStatement", "completed", `, "effectivePeriod": {"start": "2017-05-05", "end": "2017-06-01"}`+cc)}, []string{"860975@2017-05-05/completed/2017-06-01"}},
		{"statement", []string{rx("MedicationStatement", "active", `, "effectivePeriod": {"start": "2017-05-05"}`+cc)}, []string{"860975@2017-05-05"}},
		{"statement not taken is signed with its status", []string{rx("MedicationStatement", "not-taken", `, "dateAsserted": "2017-05-05"`+cc)}, []string{"860975@2017-05-05/not-taken/unknown"}},
		{"contained medication", []string{rx("MedicationRequest", "active", `, "intent": "order", "authoredOn": "2018-01-01", "contained": [`+med+`], "medicationReference": {"reference": "#m1"}`)}, []string{"197361@2018-01-01"}},
		{"medication in the bundle", []string{med, rx("MedicationStatement", "completed", `, "effectiveDateTime": "2019-01-01", "medicationReference": {"reference": "Medication/m1"}`)}, []string{"197361@2019-01-01/completed/unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ClinicalAttributes(bundleOf(tc.res...), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range listOf(t, a, "medications") {
				g := e.Code + "@" + e.Date
				if e.Status != "active" || e.End != "" {
					g += "/" + e.Status + "/" + e.End
				}
				got = append(got, g)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMalformed: wrong types, missing required elements, unknown code systems, values that
// cannot be encoded: each is an *Error naming the resource and the FHIR path, without the value.
func TestMalformed(t *testing.T) {
	hba1c := obs("4548-4", "2020-01-01", 7.25, "%")
	for _, tc := range []struct {
		name   string
		bundle string
		path   string
		want   string
	}{
		{"not json", `{"resourceType": "Bundle",`, "Bundle", "malformed JSON at line 1, column 27: unexpected end of input"},
		{"duplicate key", `{"resourceType": "Bundle", "type": "collection", "type": "batch"}`, "Bundle", "repeats a key"},
		{"not a bundle", `{"resourceType": "Patient"}`, "Bundle.resourceType", "want a Bundle"},
		{"entry not an array", `{"resourceType": "Bundle", "type": "collection", "entry": {}}`, "Bundle.entry", "want an array"},
		{"no patient", `{"resourceType": "Bundle", "type": "collection"}`, "Bundle.entry", "no Patient"},
		{"birthDate partial", strings.Replace(string(bundleOf()), `"1970-05-01"`, `"1970"`, 1), "Patient[0].birthDate", "partial date"},
		{"birthDate number", strings.Replace(string(bundleOf()), `"1970-05-01"`, `19700501`, 1), "Patient[0].birthDate", "want a string, got a number"},
		{"birthDate missing", strings.Replace(string(bundleOf()), `"birthDate": "1970-05-01", `, ``, 1), "Patient[0].birthDate", "required"},
		{"gender unknown code", strings.Replace(string(bundleOf()), `"female"`, `"f"`, 1), "Patient[0].gender", "value set"},
		{"value as string", string(bundleOf(strings.Replace(hba1c, `"value": 7.25`, `"value": "7.25"`, 1))), "Observation[0].valueQuantity.value", "want a number, got a string"},
		{"unit wrong type", string(bundleOf(strings.Replace(hba1c, `"unit": "%"`, `"unit": 1`, 1))), "Observation[0].valueQuantity.unit", "want a string"},
		{"status missing", string(bundleOf(strings.Replace(hba1c, `"status": "final", `, ``, 1))), "Observation[0].status", "required"},
		{"status bad", string(bundleOf(strings.Replace(hba1c, `"final"`, `"done"`, 1))), "Observation[0].status", "value set"},
		{"coding without system", string(bundleOf(strings.Replace(hba1c, `"system": "http://loinc.org", `, ``, 1))), "Observation[0].code.coding[0].system", "cannot be classified"},
		{"no effective", string(bundleOf(strings.Replace(hba1c, `"effectiveDateTime": "2020-01-01T10:00:00Z",`, ``, 1))), "Observation[0].effective[x]", "required"},
		{"dateTime without zone", string(bundleOf(strings.Replace(hba1c, `T10:00:00Z`, `T10:00:00`, 1))), "Observation[0].effectiveDateTime", "not a FHIR dateTime"},
		{"null", string(bundleOf(strings.Replace(hba1c, `"unit": "%"`, `"unit": null`, 1))), "Observation[0].valueQuantity.unit", "null is not allowed"},
		{"empty string", string(bundleOf(strings.Replace(hba1c, `"unit": "%"`, `"unit": ""`, 1))), "Observation[0].valueQuantity.unit", "empty string"},
		{"another patient", string(bundleOf(strings.Replace(hba1c, `urn:uuid:p1`, `urn:uuid:p2`, 1))), "Observation[0].subject.reference", "bundle's Patient"},
		{"condition unknown system", string(bundleOf(cond("active", "http://example.org/codes", "DM2", "2020-01-01"))), "Condition[0].code.coding", "no ICD-10-CM"},
		{"condition bad icd", string(bundleOf(cond("active", SystemICD10CM, "E1.19", "2020-01-01"))), "Condition[0].code.coding[0].code", "not a valid ICD-10-CM"},
		{"condition bad snomed", string(bundleOf(cond("active", SystemSNOMED, "0123", "2020-01-01"))), "Condition[0].code.coding[0].code", "not a valid SNOMED"},
		{"condition status unknown system", string(bundleOf(strings.Replace(cond("active", SystemICD10CM, "E11", "2020-01-01"), SystemConditionClin, "http://example.org/status", 1))), "Condition[0].clinicalStatus.coding", "no coding from"},
		{"condition status bad code", string(bundleOf(cond("ongoing", SystemICD10CM, "E11", "2020-01-01"))), "Condition[0].clinicalStatus.coding[0].code", "not a code of"},
		{"condition without status", string(bundleOf(`{"resourceType": "Condition", ` + subject + `, "code": {"coding": [{"system": "` + SystemICD10CM + `", "code": "E11"}]}}`)), "Condition[0].clinicalStatus", "whether the condition is active"},
		{"condition without date", string(bundleOf(strings.Replace(cond("active", SystemICD10CM, "E11", "x"), `"onsetDateTime": "x"`, `"note": [{"text": "no date"}]`, 1))), "Condition[0].onset[x]", "required"},
		{"condition subject missing", string(bundleOf(strings.Replace(cond("active", SystemICD10CM, "E11", "2020-01-01"), subject+`,`, ``, 1))), "Condition[0].subject", "required"},
		{"condition code wrong type", string(bundleOf(strings.Replace(cond("active", SystemICD10CM, "E11", "2020-01-01"), `"code": {"coding": [{"system": "`+SystemICD10CM+`", "code": "E11"}]}`, `"code": "E11"`, 1))), "Condition[0].code", "want an object"},
		{"medication without rxnorm", string(bundleOf(`{"resourceType": "MedicationRequest", "status": "active", "intent": "order", ` + subject + `, "authoredOn": "2016-01-01", "medicationCodeableConcept": {"coding": [{"system": "http://example.org/ndc", "code": "1"}]}}`)), "MedicationRequest[0].medicationCodeableConcept.coding", "no RxNorm"},
		{"medication without date", string(bundleOf(`{"resourceType": "MedicationRequest", "status": "active", "intent": "order", ` + subject + `, "medicationCodeableConcept": {"coding": [{"system": "` + SystemRxNorm + `", "code": "1"}]}}`)), "MedicationRequest[0].authoredOn", "required"},
		{"medication dangling", string(bundleOf(`{"resourceType": "MedicationRequest", "status": "active", "intent": "order", ` + subject + `, "authoredOn": "2016-01-01", "medicationReference": {"reference": "Medication/nope"}}`)), "MedicationRequest[0].medicationReference.reference", "does not resolve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ClinicalAttributes([]byte(tc.bundle), Options{})
			wantFHIRError(t, err, tc.path, []string{tc.want}, "7.25", "furlong", "E1.19", "DM2")
		})
	}
}

// TestObservationsLeftOutMakeTheListIncomplete: a quantitative result the issuer cannot sign (a
// code without a canonical unit, a code outside the issuer's narrowed set, a unit without a
// conversion, a bounded value) makes the observations list incomplete, so absence and latest over
// observations cannot be proved; results that are not quantities are not part of the list.
func TestObservationsLeftOutMakeTheListIncomplete(t *testing.T) {
	hba1c := obs("4548-4", "2020-12-01", 7.5, "%")
	coded := `{"resourceType": "Observation", "status": "final", ` + subject + `, "code": {"coding": [{"system": "` + SystemLOINC + `", "code": "72166-2"}]},
	  "effectiveDateTime": "2020-12-01", "valueCodeableConcept": {"coding": [{"system": "` + SystemSNOMED + `", "code": "266919005"}]}}`
	bounded := strings.Replace(obs("4548-4", "2020-12-01", 7.5, "%"), `"value": 7.5`, `"value": 7.5, "comparator": "<"`, 1)
	for _, tc := range []struct {
		name       string
		bundle     []byte
		set        []string
		incomplete bool
	}{
		{"all signable", bundleOf(hba1c), nil, false},
		{"a coded result is not part of the list", bundleOf(hba1c, coded), nil, false},
		{"a code without a canonical unit", bundleOf(hba1c, obs("38265-5", "2020-12-01", 0.5, "{T-score}")), nil, true},
		{"a Synthea placeholder code", bundleOf(hba1c, obs("99999-1", "2020-12-01", 1, "{score}")), nil, true},
		{"outside the issuer's set", bundleOf(hba1c, obs("39156-5", "2020-12-01", 30, "kg/m2")), []string{"4548-4"}, true},
		{"a unit without a conversion", bundleOf(hba1c, obs("39156-5", "2020-12-01", 30, "furlongs")), nil, true},
		{"a bounded value", bundleOf(bounded), nil, true},
		{"no unit", bundleOf(strings.Replace(hba1c, `, "unit": "%"`, ``, 1)), nil, true},
		{"a negative value", bundleOf(strings.Replace(hba1c, `7.5`, `-7.5`, 1)), nil, true},
		{"no LOINC coding", bundleOf(hba1c, strings.Replace(hba1c, `"http://loinc.org"`, `"http://example.org/lab"`, 1)), nil, true},
		{"a malformed LOINC code", bundleOf(hba1c, strings.Replace(hba1c, `"4548-4"`, `"4548-5"`, 1)), nil, true},
		{"a text result is not part of the list", bundleOf(hba1c, strings.Replace(hba1c, `"valueQuantity": {"value": 7.5, "unit": "%"}`, `"valueString": "7.5 %"`, 1)), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ClinicalAttributes(tc.bundle, Options{LOINC: tc.set})
			if err != nil {
				t.Fatal(err)
			}
			if got := completenessOf(t, a, "observations").Incomplete; got != tc.incomplete {
				t.Fatalf("observations incomplete = %v, want %v", got, tc.incomplete)
			}
		})
	}
}

// TestSnapshot: with an issue date D (Options.AsOf), the credential is the record as it stood on
// D: entries dated after D are left out, without marking the list incomplete, and an end after D
// is read as ongoing.
func TestSnapshot(t *testing.T) {
	abated := strings.Replace(cond("resolved", SystemICD10CM, "I21.4", "2026-09-20"), `"code": {`, `"abatementDateTime": "2026-10-05", "code": {`, 1)
	later := cond("active", SystemICD10CM, "E11.9", "2026-10-10")
	a, err := ClinicalAttributes(bundleOf(abated, later, obs("4548-4", "2026-10-09", 7.5, "%")), Options{AsOf: "2026-10-01"})
	if err != nil {
		t.Fatal(err)
	}
	conds := listOf(t, a, "conditions")
	if len(conds) != 1 || conds[0].Code != "I21.4" || conds[0].End != "" {
		t.Fatalf("conditions as of 2026-10-01 = %+v, want only I21.4, ongoing", conds)
	}
	if n := len(listOf(t, a, "observations")); n != 0 {
		t.Errorf("%d observations dated after the snapshot kept", n)
	}
	if truncated(t, a, "conditions") || truncated(t, a, "observations") {
		t.Error("leaving out entries after the snapshot marked a list incomplete")
	}
	a, err = ClinicalAttributes(bundleOf(abated, later), Options{AsOf: "2026-11-01"})
	if err != nil {
		t.Fatal(err)
	}
	if got := listOf(t, a, "conditions"); len(got) != 2 {
		t.Fatalf("as of 2026-11-01: %d conditions, want 2", len(got))
	}
}
