package fhir

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/schema"
)

// rawBundle is the part of a FHIR bundle this test reads by itself, without the importer.
type rawBundle struct {
	Entry []struct {
		Resource map[string]json.RawMessage `json:"resource"`
	} `json:"entry"`
}

// TestWholeRecordOrWhatWasLeftOut: for every fixture bundle, the credential holds every condition,
// medication and quantitative observation of the bundle, counted here from the raw JSON
// independently of the importer, or its completeness shows that something was left out. Nothing is
// dropped silently.
func TestWholeRecordOrWhatWasLeftOut(t *testing.T) {
	for _, name := range []string{louis, fabian, lupe, clemente, ned} {
		t.Run(name, func(t *testing.T) {
			data := fixture(t, name)
			a, err := ClinicalAttributes(data, Options{AsOf: "2099-12-31"})
			if err != nil {
				t.Fatal(err)
			}
			want := recordEntries(t, data) // list → "code@date" of every entry the record holds
			for li, l := range a.Schema.Lists {
				have := map[string]bool{}
				for _, e := range a.Lists[li] {
					have[e.Code+"@"+e.Date] = true
				}
				var missing []string
				for _, w := range want[l.Name] {
					if !have[w] {
						missing = append(missing, w)
					}
				}
				c := a.Completeness[li]
				t.Logf("%s: %d in the record, %d signed, %d not signed, completeness %+v", l.Name, len(want[l.Name]), len(a.Lists[li]), len(missing), c)
				if len(missing) > 0 && c.Complete() {
					t.Errorf("%s: %d entries of the record are missing and the list says it is complete: %s", l.Name, len(missing), strings.Join(missing, " "))
				}
			}
		})
	}
}

// recordEntries counts, from a bundle's raw JSON and without the importer, every entry of the
// record a clinical credential must hold, by list: "code@date" for each Condition that is not
// refuted or entered in error (its SNOMED CT code mapped through the shipped map, "unmapped:…"
// when the map lacks it), each ordered MedicationRequest, and each quantitative result (an
// Observation or component valueQuantity, status final, amended or corrected).
func recordEntries(t *testing.T, data []byte) map[string][]string {
	t.Helper()
	var b rawBundle
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for _, e := range b.Entry {
		r := e.Resource
		var typ, status string
		json.Unmarshal(r["resourceType"], &typ)
		json.Unmarshal(r["status"], &status)
		switch typ {
		case "Condition":
			if v := conceptCode(r["verificationStatus"]); v == "refuted" || v == "entered-in-error" {
				continue
			}
			for _, code := range conditionICD(t, r["code"]) {
				want["conditions"] = append(want["conditions"], code+"@"+day(r["onsetDateTime"]))
			}
		case "MedicationRequest":
			var intent string
			json.Unmarshal(r["intent"], &intent)
			if status == "entered-in-error" || intent == "proposal" || intent == "plan" || intent == "option" {
				continue
			}
			want["medications"] = append(want["medications"], conceptCode(r["medicationCodeableConcept"])+"@"+day(r["authoredOn"]))
		case "Observation":
			if status != "final" && status != "amended" && status != "corrected" {
				continue
			}
			parts := []map[string]json.RawMessage{r}
			var comps []map[string]json.RawMessage
			json.Unmarshal(r["component"], &comps)
			for _, p := range append(parts, comps...) {
				if _, ok := p["valueQuantity"]; ok {
					want["observations"] = append(want["observations"], conceptCode(p["code"])+"@"+day(r["effectiveDateTime"]))
				}
			}
		}
	}
	return want
}

// conceptCode is the first coding's code of a CodeableConcept.
func conceptCode(raw json.RawMessage) string {
	var cc struct {
		Coding []struct{ Code string } `json:"coding"`
	}
	json.Unmarshal(raw, &cc)
	if len(cc.Coding) == 0 {
		return ""
	}
	return cc.Coding[0].Code
}

// conditionICD maps a Condition's SNOMED CT coding through the shipped map (the fixtures code
// conditions in SNOMED CT only).
func conditionICD(t *testing.T, raw json.RawMessage) []string {
	code := conceptCode(raw)
	m, ok := SNOMEDToICD10CM(code)
	if !ok {
		return []string{"unmapped:" + code}
	}
	norm, err := credential.NormaliseCode(schema.ICD10CM, m.ICD10CM)
	if err != nil {
		t.Fatal(err)
	}
	return []string{norm}
}

// day is the UTC date of a FHIR dateTime, read here with the standard library alone.
func day(raw json.RawMessage) string {
	var s string
	json.Unmarshal(raw, &s)
	if len(s) == 10 {
		return s
	}
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Sprintf("bad-date(%s)", s)
	}
	return ts.UTC().Format("2006-01-02")
}

// TestFixtureQuantitiesHaveCanonicalUnits: in every fixture bundle, read here from the raw JSON
// without the importer, every quantitative result (an Observation or component valueQuantity with
// status final, amended or corrected) has a LOINC code in the canonical unit table and a unit that
// converts to the code's canonical unit, so the importer signs all of them and the observations
// list is never marked incomplete.
func TestFixtureQuantitiesHaveCanonicalUnits(t *testing.T) {
	type quantity struct {
		Value  *float64 `json:"value"`
		Unit   string   `json:"unit"`
		System string   `json:"system"`
		Code   string   `json:"code"`
	}
	type part struct {
		Code struct {
			Coding []struct{ System, Code string } `json:"coding"`
		} `json:"code"`
		ValueQuantity *quantity `json:"valueQuantity"`
	}
	for _, name := range []string{louis, fabian, lupe, clemente, ned} {
		t.Run(name, func(t *testing.T) {
			data := fixture(t, name)
			var b rawBundle
			if err := json.Unmarshal(data, &b); err != nil {
				t.Fatal(err)
			}
			n, codes := 0, map[string]bool{}
			for _, e := range b.Entry {
				r := e.Resource
				var typ, status string
				json.Unmarshal(r["resourceType"], &typ)
				json.Unmarshal(r["status"], &status)
				if typ != "Observation" || (status != "final" && status != "amended" && status != "corrected") {
					continue
				}
				var obs struct {
					part
					Component []part `json:"component"`
				}
				if err := json.Unmarshal(mustJSON(t, r), &obs); err != nil {
					t.Fatal(err)
				}
				for _, p := range append([]part{obs.part}, obs.Component...) {
					q := p.ValueQuantity
					if q == nil {
						continue
					}
					n++
					code := ""
					for _, c := range p.Code.Coding {
						if c.System == SystemLOINC {
							code = c.Code
							break
						}
					}
					unit := q.Unit
					if q.System == SystemUCUM && q.Code != "" {
						unit = q.Code
					}
					codes[code] = true
					if q.Value == nil {
						t.Errorf("%s: a valueQuantity without a value", code)
						continue
					}
					if _, err := encode.Quantity(code, *q.Value, unit); err != nil {
						t.Errorf("%s %v %q cannot be signed: %v", code, *q.Value, unit, err)
					}
				}
			}
			a, err := ClinicalAttributes(data, Options{AsOf: "2099-12-31"})
			if err != nil {
				t.Fatal(err)
			}
			c := completenessOf(t, a, "observations")
			t.Logf("%s: %d quantitative observations over %d LOINC codes; observations list incomplete: %v (complete since %s, %d signed)",
				name, n, len(codes), c.Incomplete, c.CompleteSince, len(listOf(t, a, "observations")))
			if n == 0 {
				t.Error("no quantitative observations")
			}
			if c.Incomplete {
				t.Error("the observations list is marked incomplete")
			}
		})
	}
}

// mustJSON re-encodes a resource read as raw fields.
func mustJSON(t *testing.T, r map[string]json.RawMessage) []byte {
	t.Helper()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
