package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/fhir"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/server/servertest"
)

// fhirAsOf is the as-of date of the Synthea scenarios: the records end in January 2021.
const fhirAsOf = "2021-01-31"

// Values of Louis Maggio's record (the README beside the bundles lists them) that no verification
// answer may carry: birth date, latest HbA1c, family name, the SNOMED code of his diabetes.
var louisPrivate = []string{"1976-01-16", "7.5", "Maggio", "44054006"}

// t2dmPolicy: type 2 diabetes, latest HbA1c 7.0–10.5 % within 365 days.
const t2dmPolicy = `{"schema": "clinical", "scope": "trial:t2dm-fhir",
 "predicates": [
   {"list": "conditions", "match": "exists", "code": ["E11"]},
   {"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.0, 10.5], "within_days": 365}
 ]}`

// syntheaBundle reads the shared bundle whose file name starts with name.
func syntheaBundle(t *testing.T, name string) json.RawMessage {
	t.Helper()
	return testfixture.SyntheaBundle(t, name)
}

// clockAt is a clock that starts at the RFC 3339 time start and runs at the real pace.
func clockAt(t *testing.T, start string) func() time.Time {
	t.Helper()
	base, err := time.Parse(time.RFC3339, start)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	return func() time.Time { return base.Add(time.Since(t0)) }
}

// verifyFHIR verifies with Accept: application/fhir+json, checks the media type and returns the
// resource and the X-Cache header.
func (a *testApp) verifyFHIR(t *testing.T, requestID string, proof json.RawMessage) (map[string]any, string) {
	t.Helper()
	r := a.do(t, 200, servertest.Request{Method: "POST", Path: "/v1/verify", Key: verifierKey,
		Header: map[string][]string{"Accept": {fhir.ContentType}},
		Body:   map[string]any{"request_id": requestID, "proof": proof}})
	if ct := r.Header.Get("Content-Type"); ct != fhir.ContentType {
		t.Errorf("Content-Type %q, want %s", ct, fhir.ContentType)
	}
	var res map[string]any
	r.JSON(t, &res)
	return res, r.Header.Get("X-Cache")
}

// extension returns the value of the resource's extension with the url, or nil.
func extension(res map[string]any, url string) any {
	exts, _ := res["extension"].([]any)
	for _, e := range exts {
		m, _ := e.(map[string]any)
		if m["url"] != url {
			continue
		}
		for k, v := range m {
			if strings.HasPrefix(k, "value") {
				return v
			}
		}
	}
	return nil
}

// path walks a decoded JSON value by object keys and array indexes ("insurance", 0, "inforce").
func path(v any, steps ...any) any {
	for _, s := range steps {
		switch k := s.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// assertCoverageEligible checks an R4 CoverageEligibilityResponse for a valid coverage proof.
func assertCoverageEligible(t *testing.T, res map[string]any, requestID, nullifier string) {
	t.Helper()
	for _, f := range []string{"status", "purpose", "patient", "created", "request", "outcome", "insurer", "insurance"} {
		if res[f] == nil {
			t.Errorf("CoverageEligibilityResponse lacks %s (R4 requires it): %v", f, res)
		}
	}
	if res["resourceType"] != "CoverageEligibilityResponse" || res["outcome"] != "complete" ||
		path(res, "insurance", 0, "inforce") != true || path(res, "purpose", 0) != "validation" {
		t.Errorf("CoverageEligibilityResponse: %v", res)
	}
	if path(res, "patient", "identifier", "value") != nullifier || path(res, "request", "identifier", "value") != requestID {
		t.Errorf("patient or request not named by nullifier and request id: %v", res)
	}
	if h, _ := extension(res, fhir.ExtPolicyHash).(string); !strings.HasPrefix(h, "0x") {
		t.Errorf("policy hash extension %v", h)
	}
}

// TestFHIR issues a clinical credential from a Synthea bundle over HTTP, proves a T2DM policy as
// of the end of the record and verifies it as a FHIR ResearchSubject; then an invalid proof and
// the refusals of malformed FHIR input.
func TestFHIR(t *testing.T) {
	// The service's clock starts on the as-of date: a credential is only valid from its issue date.
	a := startApp(t, Config{now: clockAt(t, fhirAsOf+"T12:00:00Z")})
	louis := syntheaBundle(t, "Louis_Maggio")
	hk, err := credential.GenerateHolderKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	commitment := fieldhash.Hex(hk.Commitment())

	r := a.do(t, 201, servertest.Request{Method: "POST", Path: "/v1/credentials", Key: issuerKey,
		Body: map[string]any{"schema": "clinical", "holder_commitment": commitment, "fhir": louis}})
	var cred struct {
		Credential json.RawMessage `json:"credential"`
	}
	r.JSON(t, &cred)
	var dates struct {
		IssuedOn  string `json:"issued_on"`
		ExpiresOn string `json:"expires_on"`
	}
	json.Unmarshal(cred.Credential, &dates)
	if dates.IssuedOn != fhirAsOf || dates.ExpiresOn != "2022-01-31" {
		t.Errorf("credential dates %+v", dates)
	}
	h := holderOf{key: hk, credential: cred.Credential}

	pid := a.registerPolicy(t, t2dmPolicy)
	var req presentationRequest
	a.do(t, 201, servertest.Request{Method: "POST", Path: "/v1/requests", Key: verifierKey,
		Body: map[string]any{"policy_id": pid, "as_of": fhirAsOf}}).JSON(t, &req)
	proof, _ := a.prove(t, req.ID, h)

	var nullifier string
	t.Run("ResearchSubjectEligible", func(t *testing.T) {
		res, xc := a.verifyFHIR(t, req.ID, proof)
		if xc != "miss" {
			t.Errorf("X-Cache %q", xc)
		}
		for _, f := range []string{"status", "study", "individual"} {
			if res[f] == nil {
				t.Errorf("ResearchSubject lacks %s (R4 requires it): %v", f, res)
			}
		}
		nullifier, _ = path(res, "individual", "identifier", "value").(string)
		if res["resourceType"] != "ResearchSubject" || res["status"] != "eligible" || nullifier == "" ||
			path(res, "period", "start") != fhirAsOf || path(res, "study", "display") != "trial:t2dm-fhir" ||
			path(res, "identifier", 0, "value") != req.ID || extension(res, fhir.ExtFirstUse) != true {
			t.Errorf("ResearchSubject: %v", res)
		}
		if h, _ := extension(res, fhir.ExtPolicyHash).(string); !strings.HasPrefix(h, "0x") {
			t.Errorf("policy hash extension %v", h)
		}
		body, _ := json.Marshal(res)
		for _, v := range louisPrivate {
			if strings.Contains(string(body), v) {
				t.Errorf("ResearchSubject carries %q: %s", v, body)
			}
		}
	})

	t.Run("JSONStaysDefault", func(t *testing.T) {
		res, xc := a.verify(t, req.ID, proof)
		if !res.Valid || !res.FirstUse || res.Nullifier != nullifier || xc != "hit" {
			t.Errorf("JSON verify after the FHIR one: %+v X-Cache %q", res, xc)
		}
	})

	t.Run("InvalidProofIneligible", func(t *testing.T) {
		var f map[string]any
		json.Unmarshal(proof, &f)
		f["public"].(map[string]any)["nullifier"] = "0x01"
		forged, _ := json.Marshal(f)
		res, _ := a.verifyFHIR(t, req.ID, forged)
		reason, _ := extension(res, fhir.ExtVerifyReason).(string)
		if res["resourceType"] != "ResearchSubject" || res["status"] != "ineligible" || reason == "" ||
			extension(res, fhir.ExtFirstUse) != nil {
			t.Errorf("forged proof: %v", res)
		}
		if j, xc := a.verify(t, req.ID, forged); j.Valid || j.Reason != reason || xc != "hit" {
			t.Errorf("JSON answer %+v (X-Cache %q), FHIR reason %q", j, xc, reason)
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		bundle := func(resources ...string) json.RawMessage {
			entries := make([]string, len(resources))
			for i, r := range resources {
				entries[i] = `{"resource": ` + r + `}`
			}
			return json.RawMessage(`{"resourceType": "Bundle", "type": "collection", "entry": [` + strings.Join(entries, ",") + `]}`)
		}
		issue := func(body map[string]any) servertest.Request {
			body["holder_commitment"] = commitment
			if body["schema"] == nil {
				body["schema"] = "clinical"
			}
			return servertest.Request{Method: "POST", Path: "/v1/credentials", Key: issuerKey, Body: body}
		}
		for _, tc := range []struct {
			name string
			req  servertest.Request
			msg  []string // what the message must name
		}{
			{"ErrBothAttributesAndFHIR", issue(map[string]any{"attributes": clinicalAttrs(), "fhir": louis}), []string{"fhir", "attributes"}},
			{"ErrNeither", issue(map[string]any{}), []string{"attributes", "fhir"}},
			{"ErrFHIRNotObject", issue(map[string]any{"fhir": "Bundle"}), []string{"fhir"}},
			{"ErrNotBundle", issue(map[string]any{"fhir": map[string]any{"resourceType": "Patient"}}), []string{"fhir", "resourceType"}},
			{"ErrBadBirthDate", issue(map[string]any{"fhir": bundle(`{"resourceType": "Patient", "id": "p", "birthDate": "1976-13-45"}`)}),
				[]string{"fhir", "Patient[0].birthDate"}},
			{"ErrObservationWithoutCode", issue(map[string]any{"fhir": bundle(`{"resourceType": "Patient", "id": "p", "birthDate": "1976-01-16"}`,
				`{"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/p"}, "valueQuantity": {"value": 7.5, "unit": "%"}}`)}),
				[]string{"fhir", "Observation[0]"}},
			{"ErrLOINCWithAttributes", issue(map[string]any{"attributes": clinicalAttrs(), "loinc": []string{"4548-4"}}), []string{"loinc"}},
			{"ErrLOINCForCoverage", issue(map[string]any{"schema": "coverage", "fhir": louis, "loinc": []string{"4548-4"}}), []string{"loinc"}},
			{"ErrLOINCUnknown", issue(map[string]any{"fhir": louis, "loinc": []string{"99999-9"}}), []string{"loinc"}},
			{"ErrNoCoverage", issue(map[string]any{"schema": "coverage", "fhir": syntheaBundle(t, "Ned_Hintz")}), []string{"fhir", "Bundle.entry"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := a.c.Do(tc.req)
				if r.Status != 400 || r.ErrorCode() != "invalid_request" {
					t.Fatalf("got %d %s, want 400 invalid_request", r.Status, r.Body)
				}
				for _, m := range tc.msg {
					if !strings.Contains(r.ErrorMessage(), m) {
						t.Errorf("message %q does not name %s", r.ErrorMessage(), m)
					}
				}
				for _, leak := range []string{"1976-13-45", "1976-01-16", "7.5", "Hintz"} {
					if strings.Contains(string(r.Body), leak) {
						t.Errorf("answer echoes %q: %s", leak, r.Body)
					}
				}
			})
		}
	})

	t.Run("ErrorsStayJSON", func(t *testing.T) {
		r := a.c.Do(servertest.Request{Method: "POST", Path: "/v1/verify", Key: verifierKey,
			Header: map[string][]string{"Accept": {fhir.ContentType}},
			Body:   map[string]any{"request_id": "req_unknown", "proof": proof}})
		if r.Status != 404 || r.ErrorCode() != "not_found" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("got %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	})

	t.Run("Privacy", func(t *testing.T) {
		// The access log never holds the bundle or anything read from it. Timings are left out of
		// the scan: a duration such as 17.5 ms would otherwise read as the HbA1c value 7.5.
		logged := logWithoutTimings(t, a.log.String())
		for _, v := range append(louisPrivate, "Louis", "Patient", hk.SecretHex()) {
			if strings.Contains(logged, v) {
				t.Errorf("serve log contains %q", v)
			}
		}
	})
}

// logWithoutTimings re-renders a JSON-lines log without its time and duration fields.
func logWithoutTimings(t *testing.T, log string) string {
	t.Helper()
	var out strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v", err)
		}
		delete(rec, "time")
		delete(rec, "duration_ms")
		b, _ := json.Marshal(rec)
		out.Write(b)
		out.WriteByte('\n')
	}
	return out.String()
}
