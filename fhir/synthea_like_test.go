package fhir

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// syntheaCodes reads testdata/synthea_condition_codes.csv: every SNOMED CT code Synthea's modules
// emit as a Condition, with its term ("" where the sources give none).
func syntheaCodes(t *testing.T) [][2]string {
	t.Helper()
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
	var out [][2]string
	for _, rec := range recs[1:] {
		out = append(out, [2]string{rec[0], rec[1]})
	}
	if len(out) < 300 {
		t.Fatalf("%d codes", len(out))
	}
	return out
}

// syntheaCondition is a Condition as Synthea writes it: SNOMED CT code, clinical status active or
// resolved (with abatementDateTime), verification status confirmed, onset and recorded dates.
func syntheaCondition(code, term, onset, abatement string) string {
	coding, text := `"code": "`+code+`"`, ""
	if term != "" { // some codes come from sources that give no term
		display, _ := json.Marshal(term)
		coding, text = coding+`, "display": `+string(display), `, "text": `+string(display)
	}
	status, end := "active", ""
	if abatement != "" {
		status, end = "resolved", `"abatementDateTime": "`+abatement+`T09:00:00+00:00", `
	}
	return `{"resourceType": "Condition", ` + subject + `,
	  "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "` + status + `"}]},
	  "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
	  "code": {"coding": [{"system": "http://snomed.info/sct", ` + coding + `}]` + text + `},
	  "onsetDateTime": "` + onset + `T09:00:00+00:00", ` + end + `"recordedDate": "` + onset + `T09:00:00+00:00"}`
}

// population describes generated Synthea-like patients: how many Conditions each has (uniform in
// [minConds, maxConds]), the share resolved, and the chance that a Condition carries a SNOMED CT
// concept outside Synthea's modules (and outside the map).
type population struct {
	name               string
	patients           int
	minConds, maxConds int
	resolved, unmapped float64
}

// syntheaRecordEnd is where the shared Synthea records end; generated histories end there too.
var syntheaRecordEnd = time.Date(2021, 1, 31, 0, 0, 0, 0, time.UTC)

// generate returns a patient's bundle and whether it holds an unmapped concept.
func (p population) generate(rnd *rand.Rand, codes [][2]string) ([]byte, bool) {
	birth := time.Date(1930+rnd.IntN(85), time.Month(1+rnd.IntN(12)), 1+rnd.IntN(28), 0, 0, 0, 0, time.UTC)
	span := int(syntheaRecordEnd.Sub(birth).Hours() / 24)
	n := p.minConds + rnd.IntN(p.maxConds-p.minConds+1)
	resources := make([]string, 0, n)
	unmapped := false
	for range n {
		c := codes[rnd.IntN(len(codes))]
		if rnd.Float64() < p.unmapped {
			c, unmapped = [2]string{"999999999", "not a Synthea concept"}, true
		}
		onset := birth.AddDate(0, 0, rnd.IntN(span+1))
		abatement := ""
		if rnd.Float64() < p.resolved {
			end := onset.AddDate(0, 0, 1+rnd.IntN(60))
			if end.After(syntheaRecordEnd) {
				end = syntheaRecordEnd
			}
			abatement = end.Format(time.DateOnly)
		}
		resources = append(resources, syntheaCondition(c[0], c[1], onset.Format(time.DateOnly), abatement))
	}
	data := bundleOf(resources...)
	// the Patient of bundleOf is born in 1970; give it this patient's birth date
	return []byte(strings.Replace(string(data), `"birthDate": "1970-05-01"`, `"birthDate": "`+birth.Format(time.DateOnly)+`"`, 1)), unmapped
}

// TestSyntheaLikeConditions measures the share of generated Synthea-like patients whose
// conditions list is not incomplete (issue 9 asks for at least 95 % of Synthea patients). No
// Synthea population is used: the held-out records are not read, and the five fixtures are too
// few to estimate how often each code occurs. So each Condition's code is drawn uniformly from
// every code Synthea's modules emit (testdata/synthea_condition_codes.csv), which weighs the rare
// codes of rare modules as much as the common ones and so is harsher on the map than a real
// population. Counts per patient run well past the fixtures' 1–13, and a third of the Conditions
// are resolved, as in the fixtures (12 of 35). The records are read by the importer as of their
// last day.
//
//   - "synthea codes": the measurement; the share must be at least 95 %.
//   - "long histories": 150–400 Conditions, nine in ten resolved: more than the list holds, so
//     capacity leaves the oldest resolved ones out (complete since D), which is not incompleteness.
//   - "2 % foreign concepts": the control; a Condition coded with a concept the map lacks makes
//     the list incomplete, and only such a Condition does.
//
// Run: go test ./fhir -run TestSyntheaLikeConditions -v (the seed is logged; ZKHEALTH_SYNTHEA_SEED
// replays one).
func TestSyntheaLikeConditions(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ZKHEALTH_SYNTHEA_SEED"); v != "" {
		if _, err := fmt.Sscan(v, &seed); err != nil {
			t.Fatalf("ZKHEALTH_SYNTHEA_SEED: %v", err)
		}
	}
	t.Logf("seed %d", seed)
	codes := syntheaCodes(t)
	patients := 1000
	if testing.Short() {
		patients = 200
	}
	for _, p := range []population{
		{"synthea codes", patients, 0, 40, 1.0 / 3, 0},
		{"long histories", patients / 10, 150, 400, 0.9, 0},
		{"2 % foreign concepts", patients, 0, 40, 1.0 / 3, 0.02},
	} {
		t.Run(p.name, func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, uint64(len(p.name))))
			var notIncomplete, since, conditions int
			for i := range p.patients {
				data, unmapped := p.generate(rnd, codes)
				a, err := ClinicalAttributes(data, Options{AsOf: syntheaRecordEnd.Format(time.DateOnly)})
				if err != nil {
					t.Fatalf("patient %d: %v", i, err)
				}
				c := completenessOf(t, a, "conditions")
				conditions += len(listOf(t, a, "conditions"))
				if c.Incomplete != unmapped {
					t.Fatalf("patient %d: incomplete %v, holds a foreign concept %v", i, c.Incomplete, unmapped)
				}
				if !c.Incomplete {
					notIncomplete++
				}
				if c.CompleteSince != "" {
					since++
				}
			}
			share := 100 * float64(notIncomplete) / float64(p.patients)
			t.Logf("%s: %d patients, %.1f signed conditions each; conditions list not incomplete for %d (%.1f %%), complete since a date for %d",
				p.name, p.patients, float64(conditions)/float64(p.patients), notIncomplete, share, since)
			if p.unmapped == 0 && share < 95 {
				t.Errorf("%.1f %% of Synthea-like patients have a conditions list that is not incomplete, want at least 95 %%", share)
			}
			if p.name == "long histories" && since == 0 {
				t.Error("no long history went past the list's capacity")
			}
		})
	}
}
