package fhir

import (
	"strings"
	"testing"
)

// TestObservationStatuses: DESIGN.md, Credential, observations: "Final, amended and corrected
// results only." Every other status of FHIR's Observation.status is not a result of the record
// and is not signed (nor does it make the list incomplete); a status outside the value set is
// malformed input.
func TestObservationStatuses(t *testing.T) {
	for _, tc := range []struct {
		status string
		signed bool
	}{
		{"final", true},
		{"amended", true},
		{"corrected", true},
		{"registered", false},
		{"preliminary", false},
		{"cancelled", false},
		{"entered-in-error", false},
		{"unknown", false},
	} {
		t.Run(tc.status, func(t *testing.T) {
			o := strings.Replace(obs("4548-4", "2020-01-01", 7, "%"), `"status": "final"`, `"status": "`+tc.status+`"`, 1)
			a, err := ClinicalAttributes(bundleOf(o), Options{AsOf: "2021-01-31"})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(listOf(t, a, "observations")); (n == 1) != tc.signed {
				t.Fatalf("%d observations signed, want signed = %v", n, tc.signed)
			}
			if truncated(t, a, "observations") {
				t.Fatalf("the list is marked %+v", completenessOf(t, a, "observations"))
			}
		})
	}
	t.Run("outside the value set", func(t *testing.T) {
		o := strings.Replace(obs("4548-4", "2020-01-01", 7, "%"), `"status": "final"`, `"status": "approved"`, 1)
		_, err := ClinicalAttributes(bundleOf(o), Options{AsOf: "2021-01-31"})
		wantFHIRError(t, err, "Observation[0].status", nil, "4548-4")
	})
}
