package app

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth/fhir"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/server/servertest"
	"github.com/zkhealth/zkhealth/verifier"
)

// TestEndToEnd runs the insurer and trial flows over HTTP in both modes, with the proof and
// verification caches and an asynchronous proof, then checks that no attribute value or holder
// secret reached the logs, Redis or the data directory.
func TestEndToEnd(t *testing.T) {
	for _, mode := range []string{"Embedded", "Redis"} {
		t.Run(mode, func(t *testing.T) {
			cfg := Config{}
			workerLog := &servertest.LogBuffer{}
			if mode == "Redis" {
				cfg = redisConfig(t, cfg)
			}
			a := startApp(t, cfg)
			if mode == "Redis" {
				startWorker(t, a.cfg, workerLog)
			}
			a.do(t, 200, servertest.Request{Method: "GET", Path: "/readyz"})
			var circuits []struct {
				ID       string         `json:"id"`
				Capacity map[string]int `json:"capacity"`
				Slots    struct {
					AttributePredicates int `json:"attribute_predicates"`
					Lists               []struct {
						List     string `json:"list"`
						Capacity int    `json:"capacity"`
						Exists   int    `json:"exists"`
					} `json:"lists"`
				} `json:"slots"`
			}
			a.do(t, 200, servertest.Request{Method: "GET", Path: "/v1/circuits"}).JSON(t, &circuits)
			if len(circuits) != len(schema.CircuitIDs()) {
				t.Fatalf("circuits: %+v", circuits)
			}
			// each circuit says what it holds: coverage-v2-s, CLI.md's eligibility policy
			for _, c := range circuits {
				if c.ID == "clinical-v2-s" && (c.Capacity["observations"] != 1294 || c.Capacity["conditions"] != 214 || c.Capacity["medications"] != 1294) {
					t.Errorf("clinical-v2-s capacity %v", c.Capacity)
				}
				if c.ID == "coverage-v2-s" && (c.Slots.AttributePredicates != 5 || len(c.Slots.Lists) != 1 ||
					c.Slots.Lists[0].List != "service_categories" || c.Slots.Lists[0].Capacity != 214 || c.Slots.Lists[0].Exists != 1) {
					t.Errorf("coverage-v2-s slots %+v", c.Slots)
				}
			}
			vk := a.do(t, 200, servertest.Request{Method: "GET", Path: "/v1/circuits/" + circuits[0].ID + "/vk"})
			if ct := vk.Header.Get("Content-Type"); ct != "application/octet-stream" || len(vk.Body) == 0 {
				t.Errorf("vk: %s, %d bytes", ct, len(vk.Body))
			}
			var issuers []struct{ Name, PublicKey string }
			a.do(t, 200, servertest.Request{Method: "GET", Path: "/v1/issuers"}).JSON(t, &issuers)
			if len(issuers) != 1 || issuers[0].Name != DevIssuerName {
				t.Errorf("issuers: %+v", issuers)
			}

			var holders []holderOf
			t.Run("Insurer", func(t *testing.T) {
				pid := a.registerPolicy(t, coveragePolicy())
				if again := a.registerPolicy(t, coveragePolicy()); again != pid {
					t.Errorf("policy id not stable: %s, %s", pid, again)
				}
				a.do(t, 200, servertest.Request{Method: "GET", Path: "/v1/policies/" + pid, Key: verifierKey})
				req := a.openRequest(t, pid, 0)
				if len(req.Challenge) != 64 || req.AsOf != day(0) || time.Until(req.ExpiresAt) < 590*time.Second {
					t.Errorf("request: %+v", req)
				}
				a.do(t, 200, servertest.Request{Method: "GET", Path: "/v1/requests/" + req.ID})
				h := a.issue(t, "coverage", coverageAttrs())
				holders = append(holders, h)
				proof, xc := a.prove(t, req.ID, h)
				if xc != "miss" {
					t.Errorf("first proof: X-Cache %q", xc)
				}
				again, xc := a.prove(t, req.ID, h)
				if xc != "hit" || !bytes.Equal(again, proof) {
					t.Errorf("repeated proof: X-Cache %q, same proof %v", xc, bytes.Equal(again, proof))
				}
				res, xc := a.verify(t, req.ID, proof)
				if !res.Valid || !res.FirstUse || xc != "miss" || res.Nullifier == "" {
					t.Errorf("verify: %+v X-Cache %q", res, xc)
				}
				res2, xc := a.verify(t, req.ID, proof)
				if xc != "hit" || res2 != res {
					t.Errorf("repeated verify: %+v X-Cache %q", res2, xc)
				}
				// The same verification as a FHIR CoverageEligibilityResponse (from the cache).
				cer, xc := a.verifyFHIR(t, req.ID, proof)
				if xc != "hit" || extension(cer, fhir.ExtFirstUse) != true {
					t.Errorf("FHIR verify: X-Cache %q, first use %v", xc, extension(cer, fhir.ExtFirstUse))
				}
				assertCoverageEligible(t, cer, req.ID, res.Nullifier)
				body, _ := json.Marshal(cer)
				for _, v := range []string{privPayer, privPlan, privMemberID, day(-300), day(300)} {
					if strings.Contains(string(body), v) {
						t.Errorf("CoverageEligibilityResponse carries %q: %s", v, body)
					}
				}
			})

			if mode == "Redis" {
				t.Run("SharedState", func(t *testing.T) {
					// A second serve process on the same Redis, prefix and secret sees the same
					// requests, caches and nullifier registry.
					b := startApp(t, a.cfg)
					pid := b.registerPolicy(t, coveragePolicy())
					req := a.openRequest(t, pid, 0)
					b.do(t, 200, servertest.Request{Method: "GET", Path: "/v1/requests/" + req.ID})
					h := holders[0]
					proof, _ := b.prove(t, req.ID, h)
					if again, xc := a.prove(t, req.ID, h); xc != "hit" || !bytes.Equal(again, proof) {
						t.Errorf("proof cache not shared: X-Cache %q", xc)
					}
					res, _ := a.verify(t, req.ID, proof)
					if !res.Valid || res.FirstUse {
						t.Errorf("nullifier registry not shared: %+v", res)
					}
					if res2, xc := b.verify(t, req.ID, proof); xc != "hit" || res2 != res {
						t.Errorf("verification cache not shared: %+v X-Cache %q", res2, xc)
					}
				})
			}

			t.Run("Trial", func(t *testing.T) {
				pid := a.registerPolicy(t, testfixture.ClinicalPolicy)
				h := a.issue(t, "clinical", clinicalAttrs())
				holders = append(holders, h)
				first := a.openRequest(t, pid, 0)
				p1, _ := a.prove(t, first.ID, h)
				res, _ := a.verify(t, first.ID, p1)
				if !res.Valid || !res.FirstUse {
					t.Fatalf("first enrolment: %+v", res)
				}
				// The same patient enrols again through another request of the same trial.
				second := a.openRequest(t, pid, 0)
				p2 := a.proveAsync(t, second.ID, h)
				res2, _ := a.verify(t, second.ID, p2)
				if !res2.Valid || res2.FirstUse || res2.Nullifier != res.Nullifier {
					t.Errorf("double enrolment: %+v (first %+v)", res2, res)
				}
				// The async job filled the proof cache.
				if _, xc := a.prove(t, second.ID, h); xc != "hit" {
					t.Errorf("proof after job: X-Cache %q", xc)
				}
			})

			t.Run("Metrics", func(t *testing.T) {
				body := string(a.do(t, 200, servertest.Request{Method: "GET", Path: "/metrics"}).Body)
				for _, want := range []string{
					`zkhealth_http_requests_total{code="200",method="POST",route="/v1/proofs"}`,
					`zkhealth_proofs_generated_total{circuit="coverage-v2-s",outcome="ok"}`,
					`zkhealth_proof_duration_seconds_bucket`,
					`zkhealth_cache_requests_total{cache="proof",result="hit"}`,
					`zkhealth_cache_requests_total{cache="verify",result="miss"}`,
					`zkhealth_verifications_total{outcome="valid"}`,
					`zkhealth_proof_queue_depth`,
				} {
					if !strings.Contains(body, want) {
						t.Errorf("/metrics lacks %s", want)
					}
				}
			})

			t.Run("Privacy", func(t *testing.T) {
				assertNoPrivateData(t, "serve log", a.log.String(), holders...)
				assertNoPrivateData(t, "worker log", workerLog.String(), holders...)
				// the verification log, as anyone reads it (its store is scanned below with Redis
				// or the data directory)
				entries := entriesText(t, a)
				if !strings.Contains(entries, `"result":"valid"`) {
					t.Errorf("the verification log holds no valid verification: %s", entries)
				}
				assertNoPrivateData(t, "verification log", entries, holders...)
				if !strings.Contains(a.log.String(), `"route":"/v1/proofs"`) {
					t.Error("the access log has no proof requests: is the log captured?")
				}
				if mode == "Redis" {
					dump := redisDump(t, a.cfg.RedisPrefix)
					if !strings.Contains(dump, a.cfg.RedisPrefix+"request:") {
						t.Fatalf("the Redis dump has no requests: is it scanning the right prefix?")
					}
					assertNoPrivateData(t, "Redis", dump, holders...)
					return
				}
				filepath.WalkDir(a.cfg.DataDir, func(path string, d os.DirEntry, err error) error {
					if err == nil && !d.IsDir() {
						data, _ := os.ReadFile(path)
						assertNoPrivateData(t, path, string(data), holders...)
					}
					return nil
				})
			})
		})
	}
}

// TestRefusals checks every error row of API.md against a real embedded server: status, code
// and, where API.md says so, what the message names.
func TestRefusals(t *testing.T) {
	a := startApp(t, Config{})
	pid := a.registerPolicy(t, coveragePolicy())
	req := a.openRequest(t, pid, 0)
	expired := a.openRequest(t, pid, 1)
	unsatisfied := a.openRequest(t, a.registerPolicy(t, unsatisfiedPolicy), 0)
	h := a.issue(t, "coverage", coverageAttrs())

	// A credential from an issuer the registry does not know, and one altered after signing.
	foreign := testfixture.Issue(t, mustSchema(t, "coverage"), string(coverageAttrs()), day(-1), day(365))
	foreignJSON, _ := foreign.Credential.Marshal()
	untrusted := holderOf{key: foreign.Holder, credential: foreignJSON}
	var altered map[string]any
	json.Unmarshal(h.credential, &altered)
	altered["expires_on"] = day(400)
	alteredJSON, _ := json.Marshal(altered)
	tampered := holderOf{key: h.key, credential: alteredJSON}

	proof, _ := a.prove(t, req.ID, h)
	time.Sleep(time.Until(expired.ExpiresAt.Add(50 * time.Millisecond)))

	for _, tc := range []struct {
		name   string
		req    servertest.Request
		status int
		code   string
		msg    string // substring the message must hold
	}{
		{"ErrMalformedJSON", servertest.Request{Method: "POST", Path: "/v1/requests", Key: verifierKey, Body: `{"policy_id":`}, 400, "invalid_request",
			"body: malformed JSON at line 1, column 14: unexpected end of input"},
		{"ErrMissingField", servertest.Request{Method: "POST", Path: "/v1/requests", Key: verifierKey, Body: `{}`}, 400, "invalid_request", "policy_id"},
		{"ErrBadTTL", servertest.Request{Method: "POST", Path: "/v1/requests", Key: verifierKey, Body: map[string]any{"policy_id": pid, "ttl_seconds": 0}}, 400, "invalid_request", "ttl_seconds"},
		{"ErrBadSecret", servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey,
			Body: map[string]any{"request_id": req.ID, "credential": h.credential, "holder_secret": "zz"}}, 400, "invalid_request", "holder_secret"},
		{"ErrBadAttribute", servertest.Request{Method: "POST", Path: "/v1/credentials", Key: issuerKey,
			Body: map[string]any{"schema": "clinical", "holder_commitment": "0x01", "attributes": map[string]any{"birth_date": "1976-13-45", "sex": "male"}}},
			400, "invalid_request", "birth_date"},
		// the words the CLI uses for the same mistake (cli: TestUsageErrors/AttrsBirthDate1850)
		{"ErrBirthDate1850", servertest.Request{Method: "POST", Path: "/v1/credentials", Key: issuerKey,
			Body: map[string]any{"schema": "clinical", "holder_commitment": "0x01", "attributes": map[string]any{"birth_date": "1850-01-16", "sex": "male"}}},
			400, "invalid_request", "birth_date: out of range (want a date YYYY-MM-DD from 1900-01-01 to 2099-12-31)"},
		{"ErrBadPolicy", servertest.Request{Method: "POST", Path: "/v1/policies", Key: verifierKey,
			Body: `{"schema":"coverage","scope":"s","predicates":[{"attribute":"shoe_size","op":"eq","value":"9"}]}`}, 400, "invalid_request", "predicate 0"},
		{"ErrMalformedProof", servertest.Request{Method: "POST", Path: "/v1/verify", Key: verifierKey,
			Body: map[string]any{"request_id": req.ID, "proof": map[string]any{"version": 1, "proof": "!!"}}}, 400, "invalid_request", "proof"},
		{"ErrNoKey", servertest.Request{Method: "POST", Path: "/v1/verify", Body: `{}`}, 401, "unauthorized", ""},
		{"ErrUnknownKey", servertest.Request{Method: "POST", Path: "/v1/verify", Key: "guess", Body: `{}`}, 401, "unauthorized", ""},
		{"ErrForbiddenHolderVerifies", servertest.Request{Method: "POST", Path: "/v1/verify", Key: holderKey, Body: `{}`}, 403, "forbidden", "verifier"},
		{"ErrForbiddenVerifierProves", servertest.Request{Method: "POST", Path: "/v1/proofs", Key: verifierKey, Body: `{}`}, 403, "forbidden", "holder"},
		{"ErrForbiddenIssuerRegisters", servertest.Request{Method: "POST", Path: "/v1/issuers", Key: issuerKey, Body: `{}`}, 403, "forbidden", "admin"},
		{"ErrNotFoundRequest", servertest.Request{Method: "GET", Path: "/v1/requests/req_unknown"}, 404, "not_found", ""},
		{"ErrNotFoundPolicy", servertest.Request{Method: "GET", Path: "/v1/policies/pol_unknown", Key: verifierKey}, 404, "not_found", ""},
		{"ErrNotFoundPolicyOfRequest", servertest.Request{Method: "POST", Path: "/v1/requests", Key: verifierKey, Body: `{"policy_id":"pol_unknown"}`}, 404, "not_found", ""},
		{"ErrNotFoundCircuit", servertest.Request{Method: "GET", Path: "/v1/circuits/nope/vk"}, 404, "not_found", ""},
		{"ErrNotFoundJob", servertest.Request{Method: "GET", Path: "/v1/proofs/jobs/job_unknown", Key: holderKey}, 404, "not_found", ""},
		{"ErrNotFoundProveRequest", servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: proveBody("req_unknown", h)}, 404, "not_found", ""},
		{"ErrExpiredGet", servertest.Request{Method: "GET", Path: "/v1/requests/" + expired.ID}, 410, "expired", ""},
		{"ErrExpiredProve", servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: proveBody(expired.ID, h)}, 410, "expired", ""},
		{"ErrExpiredProveAsync", servertest.Request{Method: "POST", Path: "/v1/proofs?async=true", Key: holderKey, Body: proveBody(expired.ID, h)}, 410, "expired", ""},
		{"ErrExpiredVerify", servertest.Request{Method: "POST", Path: "/v1/verify", Key: verifierKey,
			Body: map[string]any{"request_id": expired.ID, "proof": proof}}, 410, "expired", ""},
		{"ErrBodyTooLarge", servertest.Request{Method: "POST", Path: "/v1/policies", Key: verifierKey, Body: `{"scope":"` + strings.Repeat("x", 1<<20) + `"}`}, 413, "body_too_large", ""},
		{"ErrNotSatisfied", servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: proveBody(unsatisfied.ID, h)}, 422, "policy_not_satisfied", "predicate 1"},
		// the asynchronous call runs the synchronous one's checks before queueing
		{"ErrNotSatisfiedAsync", servertest.Request{Method: "POST", Path: "/v1/proofs?async=true", Key: holderKey, Body: proveBody(unsatisfied.ID, h)}, 422, "policy_not_satisfied", "predicate 1"},
		{"ErrUntrustedIssuerAsync", servertest.Request{Method: "POST", Path: "/v1/proofs?async=true", Key: holderKey, Body: proveBody(req.ID, untrusted)}, 422, "credential_invalid", "issuer"},
		{"ErrBadSignatureAsync", servertest.Request{Method: "POST", Path: "/v1/proofs?async=true", Key: holderKey, Body: proveBody(req.ID, tampered)}, 422, "credential_invalid", "signature"},
		{"ErrUntrustedIssuer", servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: proveBody(req.ID, untrusted)}, 422, "credential_invalid", "issuer"},
		{"ErrBadSignature", servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: proveBody(req.ID, tampered)}, 422, "credential_invalid", "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.c.Do(tc.req)
			if r.Status != tc.status || r.ErrorCode() != tc.code || !strings.Contains(r.ErrorMessage(), tc.msg) {
				t.Errorf("got %d %s; want %d %s naming %q", r.Status, r.Body, tc.status, tc.code, tc.msg)
			}
			for _, leak := range []string{"1976-13-45", "1850", h.key.SecretHex(), privMemberID, privPayer} {
				if strings.Contains(string(r.Body), leak) {
					t.Errorf("answer echoes %q", leak)
				}
			}
		})
	}

	t.Run("ReplayedProof", func(t *testing.T) {
		// bound to its request's challenge: invalid, with that reason, and no word on first use
		other := a.openRequest(t, pid, 0)
		r := a.do(t, 200, servertest.Request{Method: "POST", Path: "/v1/verify", Key: verifierKey,
			Body: map[string]any{"request_id": other.ID, "proof": proof}})
		var res verifyResult
		r.JSON(t, &res)
		if res.Valid || res.Reason != verifier.ReasonChallenge || strings.Contains(string(r.Body), "first_use") {
			t.Errorf("proof for %s verified against %s: %s, want invalid, %s, no first_use", req.ID, other.ID, r.Body, verifier.ReasonChallenge)
		}
	})

	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		r, _ := a.c.Try(servertest.Request{Method: "GET", Path: "/v1/proofs", Key: holderKey})
		if r.Status != 405 || r.ErrorCode() != "method_not_allowed" || r.Header.Get("Allow") != "POST" {
			t.Errorf("GET /v1/proofs: %d %s Allow %q, want 405 method_not_allowed Allow POST", r.Status, r.Body, r.Header.Get("Allow"))
		}
	})

	t.Run("ErrRateLimited", func(t *testing.T) {
		b := startApp(t, Config{RateLimit: 2})
		for i := range 3 {
			r := b.c.Do(servertest.Request{Method: "GET", Path: "/v1/policies/pol_x", Key: verifierKey})
			if i < 2 && r.Status != 404 {
				t.Fatalf("request %d: %d", i, r.Status)
			}
			if i == 2 && (r.Status != 429 || r.ErrorCode() != "rate_limited" || r.Header.Get("Retry-After") == "") {
				t.Errorf("third request: %d %s Retry-After %q", r.Status, r.Body, r.Header.Get("Retry-After"))
			}
		}
		// Another key is not limited by the first one's use.
		b.do(t, 404, servertest.Request{Method: "GET", Path: "/v1/proofs/jobs/job_x", Key: holderKey})
	})

	t.Run("ErrOverloaded", func(t *testing.T) {
		// One prover, room for one waiting job: the first job runs, the second waits, the third
		// is refused.
		b := startApp(t, Config{ProveWorkers: 1, QueueCapacity: 1})
		bpid := b.registerPolicy(t, coveragePolicy())
		bh := b.issue(t, "coverage", coverageAttrs())
		var got []int
		for range 3 {
			r := b.c.Do(servertest.Request{Method: "POST", Path: "/v1/proofs?async=true", Key: holderKey, Body: proveBody(b.openRequest(t, bpid, 0).ID, bh)})
			got = append(got, r.Status)
			if r.Status == 503 && (r.ErrorCode() != "overloaded" || r.Header.Get("Retry-After") == "") {
				t.Errorf("503 without overloaded and Retry-After: %s %v", r.Body, r.Header)
			}
		}
		if got[0] != 202 || got[2] != 503 {
			t.Errorf("statuses %v, want 202, 202, 503", got)
		}
	})
}
