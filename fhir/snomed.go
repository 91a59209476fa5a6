package fhir

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/zkhealth/zkhealth/internal/encode"
)

// snomedCSV is the shipped SNOMED CT → ICD-10-CM map; its header comments give its sources.
//
//go:embed snomed_icd10cm.csv
var snomedCSV string

// SNOMEDMapping is one row of the shipped SNOMED CT → ICD-10-CM map.
type SNOMEDMapping struct {
	// SNOMED is the concept id.
	SNOMED string
	// ICD10CM is the code a Condition coded with the concept is issued as (canonical spelling).
	ICD10CM string
	// Family is the ICD-10-CM family a criterion written with the concept means; "" when none is
	// faithful.
	Family string
	// Term is the concept's SNOMED CT term (documentation only).
	Term string
}

// snomedMap is the parsed map, keyed by SCTID. Built once at init, never mutated.
var snomedMap = mustParseSNOMEDMap(snomedCSV)

// mustParseSNOMEDMap parses the embedded map; malformed shipped data is a build defect, so it
// panics at init (a test parses the same data).
func mustParseSNOMEDMap(data string) map[string]SNOMEDMapping {
	m, err := parseSNOMEDMap(data)
	if err != nil {
		panic("fhir: shipped SNOMED CT map: " + err.Error())
	}
	return m
}

func parseSNOMEDMap(data string) (map[string]SNOMEDMapping, error) {
	r := csv.NewReader(strings.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = 4
	header, err := r.Read()
	if err != nil {
		return nil, err
	}
	if strings.Join(header, ",") != "snomed,icd10cm,family,term" {
		return nil, fmt.Errorf("unexpected header %q", header)
	}
	m := map[string]SNOMEDMapping{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		row := SNOMEDMapping{SNOMED: rec[0], ICD10CM: rec[1], Family: rec[2], Term: rec[3]}
		if _, err := encode.SNOMED(row.SNOMED); err != nil {
			return nil, fmt.Errorf("row %s: %v", row.SNOMED, err)
		}
		v, err := encode.ICD10(row.ICD10CM)
		if err != nil {
			return nil, fmt.Errorf("row %s: %v", row.SNOMED, err)
		}
		if row.ICD10CM, err = encode.ICD10String(v); err != nil {
			return nil, fmt.Errorf("row %s: %v", row.SNOMED, err)
		}
		if row.Family != "" {
			lo, hi, err := encode.ICD10Family(row.Family)
			if err != nil {
				return nil, fmt.Errorf("row %s: %v", row.SNOMED, err)
			}
			if v < lo || v > hi {
				return nil, fmt.Errorf("row %s: code %s is not in its family %s", row.SNOMED, row.ICD10CM, row.Family)
			}
		}
		if _, dup := m[row.SNOMED]; dup {
			return nil, fmt.Errorf("row %s: repeated", row.SNOMED)
		}
		m[row.SNOMED] = row
	}
	return m, nil
}

// SNOMEDToICD10CM returns the shipped mapping of a SNOMED CT concept id.
func SNOMEDToICD10CM(sctid string) (SNOMEDMapping, bool) {
	row, ok := snomedMap[sctid]
	return row, ok
}

// SNOMEDMap returns every row of the shipped map, sorted by concept id as a string.
func SNOMEDMap() []SNOMEDMapping {
	out := make([]SNOMEDMapping, 0, len(snomedMap))
	for _, r := range snomedMap {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SNOMED < out[j].SNOMED })
	return out
}

// notDiagnosesCSV lists SNOMED CT concepts Synthea emits as Conditions that are not diagnoses and
// have no ICD-10-CM code; its header comments say why leaving them out is sound.
//
//go:embed snomed_not_diagnoses.csv
var notDiagnosesCSV string

// notDiagnoses is the parsed list, keyed by SCTID. Built once at init, never mutated.
var notDiagnoses = mustParseNotDiagnoses(notDiagnosesCSV)

func mustParseNotDiagnoses(data string) map[string]string {
	m, err := parseNotDiagnoses(data)
	if err != nil {
		panic("fhir: shipped list of SNOMED CT concepts that are not diagnoses: " + err.Error())
	}
	return m
}

// parseNotDiagnoses reads snomed,term,reason,source rows into SCTID → term.
func parseNotDiagnoses(data string) (map[string]string, error) {
	r := csv.NewReader(strings.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = 4
	header, err := r.Read()
	if err != nil {
		return nil, err
	}
	if strings.Join(header, ",") != "snomed,term,reason,source" {
		return nil, fmt.Errorf("unexpected header %q", header)
	}
	m := map[string]string{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			return nil, err
		}
		if _, err := encode.SNOMED(rec[0]); err != nil {
			return nil, fmt.Errorf("concept %s: %v", rec[0], err)
		}
		if rec[2] == "" || rec[3] == "" {
			return nil, fmt.Errorf("concept %s: a reason and a source are required", rec[0])
		}
		if _, dup := m[rec[0]]; dup {
			return nil, fmt.Errorf("concept %s listed twice", rec[0])
		}
		if _, mapped := snomedMap[rec[0]]; mapped {
			return nil, fmt.Errorf("concept %s is both mapped and not a diagnosis", rec[0])
		}
		m[rec[0]] = rec[1]
	}
}

// NotADiagnosis reports whether a SNOMED CT concept is one that is not a diagnosis and has no
// ICD-10-CM code (employment or education status, …): a Condition coded only with such concepts
// is outside the conditions list and is left out without making the list incomplete.
func NotADiagnosis(sctid string) bool {
	_, ok := notDiagnoses[sctid]
	return ok
}
