package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/fhir"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/server/servertest"
	"github.com/zkhealth/zkhealth/service"
)

// TestVerifyFHIR checks content negotiation on POST /v1/verify: JSON unless the Accept header
// prefers FHIR JSON, the FHIR resource built from the request's own policy and as-of date, the
// issuer named only for a valid proof, and errors kept as JSON.
func TestVerifyFHIR(t *testing.T) {
	ik, err := credential.GenerateIssuerKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	req := zkhealth.PresentationRequest{ID: "req_1", PolicyID: "pol_1", AsOf: "2026-11-01", Scope: "payer:acme:eligibility",
		Policy: json.RawMessage(`{"schema": "coverage", "scope": "payer:acme:eligibility",
		  "predicates": [{"attribute": "status", "op": "eq", "value": "active"}]}`)}
	pol, err := policy.Parse(req.Policy)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	result := service.VerifyResult{Valid: true, Nullifier: "0x0abc", FirstUse: &yes}
	svc := &fakeService{
		verify: func(_ context.Context, in service.VerifyInput) (service.Verification, error) {
			if in.RequestID != req.ID {
				return service.Verification{}, notFound()
			}
			v := service.Verification{Result: result, Cached: true, Request: &service.Presentation{PresentationRequest: req, Policy: pol}}
			if result.Valid {
				v.Issuer = ik.PublicHex()
			}
			return v, nil
		},
	}
	h := newHarness(t, svc, nil)
	body := map[string]any{"request_id": req.ID, "proof": map[string]any{
		"version": zkhealth.ProofVersion, "circuit": "coverage-v2-s", "backend": "groth16", "vk_fingerprint": "00", "proof": "AAAA",
		"public": map[string]any{"policy_hash": "0x01", "issuer": ik.PublicHex(), "challenge": "0x02", "nullifier": "0x0abc"},
		"as_of":  req.AsOf, "scope": req.Scope}}
	verify := func(accept string) *servertest.Response {
		r := servertest.Request{Method: "POST", Path: "/v1/verify", Key: verifierKey, Body: body}
		if accept != "" {
			r.Header = http.Header{"Accept": {accept}}
		}
		return h.c.Do(r)
	}

	for _, tc := range []struct {
		accept string
		fhir   bool
	}{
		{"", false},
		{"application/json", false},
		{"*/*", false},
		{"application/fhir+json", true},
		{"application/fhir+json; fhirVersion=4.0", true},
		{"application/json;q=0.5, application/fhir+json", true},
		{"application/json, application/fhir+json;q=0.5", false},
	} {
		t.Run("Accept "+tc.accept, func(t *testing.T) {
			r := verify(tc.accept)
			ct := r.Header.Get("Content-Type")
			if r.Status != 200 || r.Header.Get("X-Cache") != "hit" || strings.HasPrefix(ct, fhir.ContentType) != tc.fhir {
				t.Errorf("got %d %s X-Cache %q: %s", r.Status, ct, r.Header.Get("X-Cache"), r.Body)
			}
			if !strings.Contains(r.Header.Get("Vary"), "Accept") {
				t.Errorf("Vary %q", r.Header.Get("Vary"))
			}
		})
	}

	t.Run("ValidNamesIssuer", func(t *testing.T) {
		var res map[string]any
		verify(fhir.ContentType).JSON(t, &res)
		ins, _ := res["insurer"].(map[string]any)
		id, _ := ins["identifier"].(map[string]any)
		if res["resourceType"] != "CoverageEligibilityResponse" || res["outcome"] != "complete" || res["servicedDate"] != req.AsOf ||
			id["value"] != ik.PublicHex() {
			t.Errorf("%v", res)
		}
	})

	t.Run("InvalidNamesNoIssuer", func(t *testing.T) {
		result = service.VerifyResult{Valid: false, Reason: "untrusted_issuer", Nullifier: "0x0abc"}
		defer func() { result = service.VerifyResult{Valid: true, Nullifier: "0x0abc", FirstUse: &yes} }()
		r := verify(fhir.ContentType)
		if r.Status != 200 || strings.Contains(string(r.Body), ik.PublicHex()) || !strings.Contains(string(r.Body), `"outcome":"error"`) ||
			!strings.Contains(string(r.Body), "untrusted_issuer") {
			t.Errorf("got %d %s", r.Status, r.Body)
		}
	})

	t.Run("ErrUnknownRequestIsJSON", func(t *testing.T) {
		b := map[string]any{"request_id": "req_unknown", "proof": body["proof"]}
		r := h.c.Do(servertest.Request{Method: "POST", Path: "/v1/verify", Key: verifierKey, Body: b, Header: http.Header{"Accept": {fhir.ContentType}}})
		if r.Status != 404 || r.ErrorCode() != "not_found" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("got %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	})

	t.Run("DocumentConstrainsFHIR", func(t *testing.T) {
		hr := httptest.NewRequest("POST", "http://x/v1/verify", nil)
		for _, tc := range []struct {
			name string
			body string
			ok   bool
		}{
			{"OK", `{"resourceType":"ResearchSubject","status":"eligible","study":{"display":"s"},"individual":{"display":"h"}}`, true},
			{"ErrNoStatus", `{"resourceType":"ResearchSubject","study":{"display":"s"},"individual":{"display":"h"}}`, false},
			{"ErrBadStatus", `{"resourceType":"ResearchSubject","status":"enrolled","study":{"display":"s"},"individual":{"display":"h"}}`, false},
			{"ErrOtherResource", `{"resourceType":"Patient","status":"eligible","study":{"display":"s"},"individual":{"display":"h"}}`, false},
			{"ErrNoOutcome", `{"resourceType":"CoverageEligibilityResponse","status":"active","purpose":["validation"],"patient":{"display":"h"},
			  "created":"2026-11-01T00:00:00Z","request":{"display":"r"},"insurer":{"display":"i"}}`, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp := servertest.Response{Status: 200, Header: http.Header{"Content-Type": {fhir.ContentType}, "X-Cache": {"miss"}}, Body: []byte(tc.body)}
				if err := h.c.Validate(hr, &resp); (err == nil) != tc.ok {
					t.Errorf("Validate = %v, want ok=%v", err, tc.ok)
				}
			})
		}
	})
}
