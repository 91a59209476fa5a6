package fhir

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/testfixture"
)

// Fixture names by the patient's first name.
const (
	louis    = "Louis"    // T2DM, latest HbA1c 7.50 %
	fabian   = "Fabian"   // T2DM, latest HbA1c 6.07 %, earlier 7.57 %
	lupe     = "Lupe"     // HbA1c 6.19 %, no diabetes
	clemente = "Clemente" // no HbA1c
	ned      = "Ned"      // no_insurance only
)

// fixture reads the shared Synthea bundle whose file name starts with name (README.md beside the
// bundles says what each exercises).
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	return testfixture.SyntheaBundle(tb, name)
}

// allFixtures returns every shared Synthea bundle by file name.
func allFixtures(tb testing.TB) map[string][]byte {
	tb.Helper()
	return testfixture.SyntheaBundles(tb)
}

// patient is the Patient every synthetic bundle holds.
const patient = `{"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "p1", "birthDate": "1970-05-01", "gender": "female"}}`

// subject is a reference to that Patient.
const subject = `"subject": {"reference": "urn:uuid:p1"}`

// bundleOf wraps resources (JSON objects) in a collection Bundle after the Patient.
func bundleOf(resources ...string) []byte {
	entries := []string{patient}
	for _, r := range resources {
		entries = append(entries, `{"resource": `+r+`}`)
	}
	return []byte(`{"resourceType": "Bundle", "type": "collection", "entry": [` + strings.Join(entries, ",") + `]}`)
}

// obs is an Observation with one LOINC code and a valueQuantity.
func obs(code, date string, value float64, unit string) string {
	v, _ := json.Marshal(value)
	return `{"resourceType": "Observation", "status": "final", ` + subject + `,
	  "code": {"coding": [{"system": "http://loinc.org", "code": "` + code + `"}]},
	  "effectiveDateTime": "` + date + `T10:00:00Z",
	  "valueQuantity": {"value": ` + string(v) + `, "unit": "` + unit + `"}}`
}

// cond is a Condition with the given status, coding and onset.
func cond(clinical, system, code, onset string) string {
	return `{"resourceType": "Condition", ` + subject + `,
	  "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "` + clinical + `"}]},
	  "code": {"coding": [{"system": "` + system + `", "code": "` + code + `"}]},
	  "onsetDateTime": "` + onset + `"}`
}

// wantFHIRError checks err is an *Error at path whose message contains every want, wraps
// ErrMalformed and credential.ErrMalformed, and does not leak any of forbid.
func wantFHIRError(t *testing.T, err error, path string, want []string, forbid ...string) {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("want *fhir.Error at %s, got %T %v", path, err, err)
	}
	if fe.Path != path {
		t.Errorf("path %q, want %q (%v)", fe.Path, path, err)
	}
	if !errors.Is(err, ErrMalformed) || !errors.Is(err, credential.ErrMalformed) {
		t.Errorf("%v does not wrap ErrMalformed and credential.ErrMalformed", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not contain %q", err.Error(), w)
		}
	}
	for _, f := range forbid {
		if strings.Contains(err.Error(), f) {
			t.Errorf("%q leaks %q", err.Error(), f)
		}
	}
}

// listOf returns the entries of the named list.
func listOf(t *testing.T, a *credential.Attributes, name string) []credential.Entry {
	t.Helper()
	i, _, ok := a.Schema.List(name)
	if !ok {
		t.Fatalf("no list %s", name)
	}
	return a.Lists[i]
}

// truncated reports whether a list left anything out (complete_since set, or incomplete).
func truncated(t *testing.T, a *credential.Attributes, name string) bool {
	t.Helper()
	i, _, _ := a.Schema.List(name)
	return !a.Completeness[i].Complete()
}

// completenessOf returns a list's completeness.
func completenessOf(t *testing.T, a *credential.Attributes, name string) credential.Completeness {
	t.Helper()
	i, _, _ := a.Schema.List(name)
	return a.Completeness[i]
}

func scalar(t *testing.T, a *credential.Attributes, name string) string {
	t.Helper()
	i, _, ok := a.Schema.Attribute(name)
	if !ok {
		t.Fatalf("no attribute %s", name)
	}
	return a.Scalars[i]
}

// latest returns the newest entry with the code ("" date when none).
func latest(entries []credential.Entry, code string) (credential.Entry, bool) {
	// signing order: by code, then date, so a code's latest is its last entry (DESIGN.md: among
	// same-dated entries, the one listed last)
	var found credential.Entry
	ok := false
	for _, e := range entries {
		if e.Code == code {
			found, ok = e, true
		}
	}
	return found, ok
}
