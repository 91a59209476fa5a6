package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/internal/testfixture"
)

// syntheaBundle is the path of the shared Synthea bundle whose file name starts with first.
func syntheaBundle(t *testing.T, first string) string {
	t.Helper()
	return testfixture.SyntheaPath(t, first)
}

// t2dmPolicy is condition E11 and the latest HbA1c 7.0–10.5 % within 365 days.
const t2dmPolicy = `{"schema": "clinical", "scope": "trial:t2dm", "predicates": [
  {"list": "conditions", "match": "exists", "code": ["E11"]},
  {"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.0, 10.5], "within_days": 365}]}`

// fhirKeys runs issuer keygen and holder keygen in dir.
func fhirKeys(t *testing.T, dir string) (issuerKey, pub, holderKey, commitment string) {
	t.Helper()
	issuerKey, holderKey = filepath.Join(dir, "issuer.key"), filepath.Join(dir, "holder.key")
	pub = strings.TrimSpace(mustZK(t, "issuer", "keygen", "--out", issuerKey).stdout)
	commitment = strings.TrimSpace(mustZK(t, "holder", "keygen", "--out", holderKey).stdout)
	return
}

func TestIssueFHIR(t *testing.T) {
	dir := t.TempDir()
	issuerKey, _, _, commitment := fhirKeys(t, dir)
	out := filepath.Join(dir, "credential.json")
	issue := func(schemaID string, extra ...string) []string {
		return append([]string{"issue", "--issuer", issuerKey, "--schema", schemaID, "--holder-commitment", commitment,
			"--issued-on", "2021-01-31", "--out", out}, extra...)
	}
	t.Run("clinical", func(t *testing.T) {
		r := mustZK(t, issue("clinical", "--fhir", syntheaBundle(t, "Louis"))...)
		// issue prints each list's completeness: the whole record fits, every result of the
		// bundle has a canonical unit
		if !strings.Contains(r.stdout, "issued clinical credential") || !strings.Contains(r.stdout, "conditions: 11 entries, complete\n") || !strings.Contains(r.stdout, "observations: 66 entries, complete\n") {
			t.Errorf("stdout %q", r.stdout)
		}
		attrs := readJSON(t, out)["attributes"].(map[string]any)
		if attrs["birth_date"] != "1976-01-16" || !strings.Contains(toJSON(t, attrs["conditions"]), `"E11.9"`) {
			t.Errorf("attributes %v", attrs)
		}
	})
	t.Run("loinc set", func(t *testing.T) {
		r := mustZK(t, issue("clinical", "--fhir", syntheaBundle(t, "Louis"), "--loinc", "4548-4,39156-5")...)
		obs := toJSON(t, readJSON(t, out)["attributes"].(map[string]any)["observations"])
		// the bundle's other observations are left out, so the list claims no completeness
		if strings.Contains(obs, "29463-7") || !strings.Contains(obs, "4548-4") || !strings.Contains(r.stdout, "observations: 7 entries, incomplete") {
			t.Errorf("observations %s, stdout %q", obs, r.stdout)
		}
	})
	t.Run("coverage", func(t *testing.T) {
		mustZK(t, issue("coverage", "--fhir", syntheaBundle(t, "Louis"))...)
		attrs := readJSON(t, out)["attributes"].(map[string]any)
		if attrs["status"] != "active" || attrs["period_start"] != "2019-06-16" || attrs["period_end"] != "2022-01-05" {
			t.Errorf("attributes %v", attrs)
		}
	})

	bad := func(name, content string) string { return writeFile(t, dir, name, content) }
	badObs := bad("bad-obs.json", `{"resourceType": "Bundle", "type": "collection", "entry": [
	  {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "birthDate": "1970-01-01"}},
	  {"resource": {"resourceType": "Observation", "status": "final", "subject": {"reference": "urn:uuid:p"},
	    "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]}, "effectiveDateTime": "2020-01-01",
	    "valueQuantity": {"value": 7.25, "unit": 7}}}]}`)
	for _, tc := range []struct {
		name   string
		args   []string
		want   []string
		forbid []string
	}{
		{"malformed fhir", issue("clinical", "--fhir", badObs), []string{"bad-obs.json", "Observation[0].valueQuantity.unit", "want a string"}, []string{"7.25"}},
		{"not json", issue("clinical", "--fhir", bad("x.json", "{")), []string{"x.json", "Bundle: malformed JSON at line 1, column 2: unexpected end of input"}, nil},
		{"uninsured", issue("coverage", "--fhir", syntheaBundle(t, "Ned")), []string{"Ned_", "no insurance coverage"}, nil},
		{"both sources", issue("clinical", "--fhir", badObs, "--attributes", badObs),
			[]string{"zkhealth issue: give exactly one of --attributes ATTRS.json and --fhir BUNDLE.json"}, []string{"group", "[attributes fhir]"}},
		{"no source", issue("clinical"),
			[]string{"zkhealth issue: give exactly one of --attributes ATTRS.json and --fhir BUNDLE.json"}, []string{"group", "[attributes fhir]"}},
		{"loinc for coverage", issue("coverage", "--fhir", syntheaBundle(t, "Louis"), "--loinc", "4548-4"), []string{"--loinc", "clinical"}, nil},
		{"loinc without fhir", issue("clinical", "--attributes", badObs, "--loinc", "4548-4"), []string{"--loinc", "--fhir"}, nil},
		{"loinc unknown", issue("clinical", "--fhir", badObs, "--loinc", "4548-4,38265-5"), []string{"--loinc", "38265-5", "canonical unit"}, nil},
		{"loinc bad check digit", issue("clinical", "--fhir", badObs, "--loinc", "4548-5"), []string{"--loinc", "check digit"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(out)
			wantFailure(t, zk(t, tc.args...), ExitUsage, tc.want, tc.forbid...)
			noFile(t, out)
		})
	}
	t.Run("missing bundle", func(t *testing.T) {
		wantFailure(t, zk(t, issue("clinical", "--fhir", filepath.Join(dir, "nope.json"))...), ExitFailure, []string{"nope.json"})
	})
}

// TestIssueFHIRProve: a credential issued from FHIR proves through the command line; one that
// does not satisfy the policy exits 3.
func TestIssueFHIRProve(t *testing.T) {
	keys := keysDir(t)
	for _, tc := range []struct {
		patient string
		code    int
	}{
		// Louis's latest HbA1c is 7.5 %; Fabian's is 6.07 %, below the range
		{"Louis", ExitOK},
		{"Fabian", ExitNotSatisfied},
	} {
		t.Run(tc.patient, func(t *testing.T) {
			dir := t.TempDir()
			issuerKey, pub, holderKey, commitment := fhirKeys(t, dir)
			cred, pol, proofPath := filepath.Join(dir, "cred.json"), writeFile(t, dir, "policy.json", t2dmPolicy), filepath.Join(dir, "proof.json")
			mustZK(t, "issue", "--issuer", issuerKey, "--schema", "clinical", "--holder-commitment", commitment,
				"--fhir", syntheaBundle(t, tc.patient), "--issued-on", "2021-01-31", "--out", cred)
			ch := randomChallenge(t)
			r := zk(t, "prove", "--keys", keys, "--credential", cred, "--holder", holderKey, "--policy", pol,
				"--challenge", ch, "--as-of", "2021-01-31", "--out", proofPath)
			if tc.code != ExitOK {
				wantFailure(t, r, tc.code, []string{"predicate 1", "latest 4548-4"})
				noFile(t, proofPath)
				return
			}
			if r.code != ExitOK {
				t.Fatalf("prove: %v", r)
			}
			mustZK(t, "verify", "--keys", keys, "--proof", proofPath, "--policy", pol, "--issuer-pub", pub,
				"--challenge", ch, "--as-of", "2021-01-31")
		})
	}
}

// Criteria files for policy from-fhir.
const (
	groupCriteria = `{"resourceType": "Bundle", "type": "collection", "entry": [
	  {"resource": {"resourceType": "ResearchStudy", "id": "s1", "status": "active",
	    "identifier": [{"system": "https://clinicaltrials.gov", "value": "NCT04556851"}],
	    "enrollment": [{"reference": "#g1"}],
	    "contained": [{"resourceType": "Group", "id": "g1", "type": "person", "actual": false, "characteristic": [
	      {"code": {"coding": [{"system": "http://loinc.org", "code": "30525-0"}]},
	       "valueRange": {"low": {"value": 18, "unit": "a"}, "high": {"value": 75, "unit": "a"}}, "exclude": false},
	      {"code": {"coding": [{"system": "http://snomed.info/sct", "code": "64572001"}]},
	       "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]}, "exclude": false},
	      {"code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
	       "valueRange": {"low": {"value": 7.0, "unit": "%"}, "high": {"value": 10.5, "unit": "%"}}, "exclude": false}
	      UNSUPPORTED]}]}}]}`
	unsupportedCriteria = `,
	      {"code": {"coding": [{"system": "http://snomed.info/sct", "code": "64572001"}], "text": "Pregnancy test"},
	       "valueReference": {"reference": "Observation/x"}, "exclude": true},
	      {"code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
	       "valueQuantity": {"value": 12, "unit": "%"}, "exclude": true}`
)

func TestPolicyFromFHIR(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "policy.json")
	full := writeFile(t, dir, "full.json", strings.Replace(groupCriteria, "UNSUPPORTED", "", 1))
	partial := writeFile(t, dir, "partial.json", strings.Replace(groupCriteria, "UNSUPPORTED", unsupportedCriteria, 1))
	cmd := func(in string, extra ...string) []string {
		return append([]string{"policy", "from-fhir", "--in", in, "--out", out}, extra...)
	}

	t.Run("all expressible", func(t *testing.T) {
		r := mustZK(t, cmd(full)...)
		if r.stderr != "" || !strings.Contains(r.stdout, "3 predicates") || !strings.Contains(r.stdout, "trial:NCT04556851") {
			t.Errorf("%v", r)
		}
		p := readJSON(t, out)
		if p["scope"] != "trial:NCT04556851" || p["schema"] != "clinical" || !strings.Contains(toJSON(t, p["predicates"]), `"code":["E11"]`) {
			t.Errorf("policy %v", p)
		}
		mustZK(t, "policy", "hash", "--policy", out, "--as-of", "2026-11-22")
	})
	t.Run("scope flag", func(t *testing.T) {
		mustZK(t, cmd(full, "--scope", "trial:other")...)
		if readJSON(t, out)["scope"] != "trial:other" {
			t.Errorf("scope not set")
		}
	})
	t.Run("unsupported fails", func(t *testing.T) {
		os.Remove(out)
		r := zk(t, cmd(partial)...)
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if r.code != ExitUsage || len(lines) != 3 || r.stdout != "" {
			t.Fatalf("want exit 2 and 3 stderr lines, got %v", r)
		}
		if !strings.HasPrefix(lines[0], "unsupported: ResearchStudy[0].contained[0].characteristic[3] (Pregnancy test): valueReference") ||
			!strings.HasPrefix(lines[1], "unsupported: ResearchStudy[0].contained[0].characteristic[4]") ||
			!strings.Contains(lines[2], "2 criteria cannot be expressed") || !strings.Contains(lines[2], "--allow-partial") {
			t.Errorf("stderr %q", r.stderr)
		}
		noFile(t, out)
	})
	t.Run("allow partial", func(t *testing.T) {
		r := zk(t, cmd(partial, "--allow-partial")...)
		if r.code != ExitOK || strings.Count(r.stderr, "unsupported: ") != 2 || !strings.Contains(r.stdout, "2 criteria left out") {
			t.Fatalf("%v", r)
		}
		if n := len(readJSON(t, out)["predicates"].([]any)); n != 3 {
			t.Errorf("%d predicates, want 3", n)
		}
	})
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"malformed", strings.Replace(strings.Replace(groupCriteria, "UNSUPPORTED", "", 1), `"exclude": false}`, `"exclude": "no"}`, 1), []string{"bad.json", "ResearchStudy[0].contained[0].characteristic[0].exclude", "want a boolean"}},
		{"not json", `{"resourceType":`, []string{"bad.json", "malformed JSON at line 1, column 17: unexpected end of input"}},
		{"no criteria", `{"resourceType": "Patient"}`, []string{"bad.json", "no ResearchStudy, Group or EvidenceVariable"}},
		{"no scope", `{"resourceType": "EvidenceVariable", "status": "active", "characteristic": [{"definitionCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11"}]}}]}`, []string{"--scope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(out)
			wantFailure(t, zk(t, cmd(writeFile(t, dir, "bad.json", tc.in))...), ExitUsage, tc.want)
			noFile(t, out)
		})
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
