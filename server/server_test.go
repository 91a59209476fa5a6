package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/server/servertest"
	"github.com/zkhealth/zkhealth/service"
)

// fakeService answers from its function fields; unset ones answer not_found.
type fakeService struct {
	prove    func(ctx context.Context, in service.ProveInput) ([]byte, bool, error)
	circuits func() []service.Circuit
	ready    func(ctx context.Context) error
	request  func(ctx context.Context, id string) (zkhealth.PresentationRequest, error)
	verify   func(ctx context.Context, in service.VerifyInput) (service.Verification, error)
}

func notFound() error { return zkhealth.Errorf(zkhealth.ENotFound, "No such thing.") }

func (f *fakeService) RegisterPolicy(context.Context, []byte) (zkhealth.StoredPolicy, error) {
	return zkhealth.StoredPolicy{ID: "pol_1", Policy: json.RawMessage(`{"schema":"coverage","scope":"s","predicates":[]}`)}, nil
}
func (f *fakeService) Policy(context.Context, string) (zkhealth.StoredPolicy, error) {
	return zkhealth.StoredPolicy{}, notFound()
}
func (f *fakeService) OpenRequest(_ context.Context, in service.RequestInput) (zkhealth.PresentationRequest, error) {
	if err := in.Validate(); err != nil {
		return zkhealth.PresentationRequest{}, err
	}
	return zkhealth.PresentationRequest{}, notFound()
}
func (f *fakeService) Request(ctx context.Context, id string) (zkhealth.PresentationRequest, error) {
	if f.request != nil {
		return f.request(ctx, id)
	}
	return zkhealth.PresentationRequest{}, notFound()
}
func (f *fakeService) Prove(ctx context.Context, in service.ProveInput) ([]byte, bool, error) {
	if err := in.Validate(); err != nil {
		return nil, false, err
	}
	if f.prove != nil {
		return f.prove(ctx, in)
	}
	return nil, false, notFound()
}
func (f *fakeService) ProveAsync(context.Context, service.ProveInput) (string, error) {
	return "", zkhealth.Errorf(zkhealth.EOverloaded, "The proving queue is full.")
}
func (f *fakeService) Job(context.Context, string) (zkhealth.Job, error) {
	return zkhealth.Job{}, notFound()
}
func (f *fakeService) Verify(ctx context.Context, in service.VerifyInput) (service.Verification, error) {
	if f.verify != nil {
		return f.verify(ctx, in)
	}
	return service.Verification{}, notFound()
}
func (f *fakeService) Issue(context.Context, service.IssueInput) (*credential.Credential, error) {
	// A malformed attribute whose cause quotes the value, as package encode's errors do: the
	// FieldError's text never renders its cause.
	return nil, zkhealth.Wrap(zkhealth.EInvalid, fmt.Errorf("credential: %w",
		&credential.FieldError{Field: "birth_date", Reason: credential.ReasonMalformed, Err: fmt.Errorf("encode: bad date \"1976-13-45\"")}))
}
func (f *fakeService) RegisterIssuer(context.Context, service.IssuerInput) (zkhealth.Issuer, error) {
	return zkhealth.Issuer{}, errors.New("disk on fire at /secret/path")
}
func (f *fakeService) Issuers(context.Context) ([]zkhealth.Issuer, error) { return nil, nil }
func (f *fakeService) Circuits() []service.Circuit {
	if f.circuits != nil {
		return f.circuits()
	}
	return nil
}
func (f *fakeService) VerifyingKey(string) ([]byte, error) { return nil, notFound() }
func (f *fakeService) Ready(ctx context.Context) error {
	if f.ready != nil {
		return f.ready(ctx)
	}
	return nil
}

// countingLimiter allows the first n requests of each key.
type countingLimiter struct {
	mu    sync.Mutex
	n     int
	count map[string]int
}

func (l *countingLimiter) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count[key]++
	return l.count[key] <= l.n, 1500 * time.Millisecond, nil
}

const (
	holderKey   = "holder-key-123"
	verifierKey = "verifier-key-456"
)

type harness struct {
	c   *servertest.Client
	log *servertest.LogBuffer
	srv *Server
}

func newHarness(t *testing.T, svc Service, mod func(*Deps)) *harness {
	t.Helper()
	log := &servertest.LogBuffer{}
	d := Deps{
		Service: svc,
		Keys:    map[string]Role{holderKey: RoleHolder, verifierKey: RoleVerifier},
		Logger:  slog.New(LogHandler(slog.NewJSONHandler(log, nil))),
	}
	if mod != nil {
		mod(&d)
	}
	s, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &harness{c: servertest.New(t, ts.URL), log: log, srv: s}
}

var validProveBody = map[string]any{"request_id": "req_1", "credential": map[string]any{"version": 1}, "holder_secret": "00"}

// TestMethodNotAllowed: a known path with another method answers 405 with an Allow header, an
// unknown path 404.
func TestMethodNotAllowed(t *testing.T) {
	h := newHarness(t, &fakeService{}, nil)
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/v1/proofs", 405, "method_not_allowed", "POST"},
		{"DELETE", "/v1/requests/req_1", 405, "method_not_allowed", "GET"},
		{"PUT", "/v1/policies", 405, "method_not_allowed", "POST"},
		{"POST", "/healthz", 405, "method_not_allowed", "GET"},
		{"GET", "/v1/nothing", 404, "not_found", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r, _ := h.c.Try(servertest.Request{Method: tc.method, Path: tc.path, Key: holderKey})
			if r.Status != tc.status || r.ErrorCode() != tc.code || r.Header.Get("Allow") != tc.allow {
				t.Errorf("got %d %s Allow %q; want %d %s Allow %q", r.Status, r.Body, r.Header.Get("Allow"), tc.status, tc.code, tc.allow)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	for code, want := range map[string]int{
		zkhealth.EInvalid: 400, zkhealth.EUnauthorized: 401, zkhealth.EForbidden: 403, zkhealth.ENotFound: 404,
		zkhealth.EExpired: 410, zkhealth.ETooLarge: 413, zkhealth.ENotSatisfied: 422, zkhealth.ECredential: 422,
		zkhealth.ERateLimited: 429, zkhealth.EOverloaded: 503, zkhealth.EUnavailable: 503, zkhealth.EInternal: 500,
		"no_such_code": 500,
	} {
		if got := StatusOf(code); got != want {
			t.Errorf("StatusOf(%s) = %d, want %d", code, got, want)
		}
	}
	for _, tc := range []struct {
		name           string
		err            error
		code, msgMatch string
		status         int
	}{
		{"Plain", errors.New("boom /etc/secret"), "internal", "Internal error", 500},
		{"Deadline", fmt.Errorf("prove: %w", context.DeadlineExceeded), "unavailable", "timed out", 503},
		{"InternalCodeHidden", zkhealth.Errorf(zkhealth.EInternal, "stack trace here"), "internal", "Internal error", 500},
		{"NotSatisfied", zkhealth.Errorf(zkhealth.ENotSatisfied, "predicate 2 (x) does not hold"), "policy_not_satisfied", "predicate 2", 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, status, msg := render(tc.err)
			if code != tc.code || status != tc.status || !strings.Contains(msg, tc.msgMatch) {
				t.Errorf("render = %s %d %q, want %s %d ~%q", code, status, msg, tc.code, tc.status, tc.msgMatch)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		h := newHarness(t, &fakeService{}, nil)
		r := h.c.Do(servertest.Request{Method: "GET", Path: "/healthz"})
		if r.Status != 200 || r.Header.Get("X-Request-ID") == "" {
			t.Errorf("healthz: %d, request id %q", r.Status, r.Header.Get("X-Request-ID"))
		}
		r = h.c.Do(servertest.Request{Method: "GET", Path: "/healthz", Header: http.Header{"X-Request-Id": {"my-req.1"}}})
		if got := r.Header.Get("X-Request-ID"); got != "my-req.1" {
			t.Errorf("given request id not echoed: %q", got)
		}
		r = h.c.Do(servertest.Request{Method: "GET", Path: "/healthz", Header: http.Header{"X-Request-Id": {"bad id <x>"}}})
		if got := r.Header.Get("X-Request-ID"); got == "" || strings.Contains(got, " ") {
			t.Errorf("malformed request id kept: %q", got)
		}
		if r := h.c.Do(servertest.Request{Method: "GET", Path: "/v1/circuits"}); r.Status != 200 || string(r.Body) != "[]" {
			t.Errorf("circuits: %d %s", r.Status, r.Body)
		}
	})
	for _, tc := range []struct {
		name   string
		mod    func(*Deps)
		svc    *fakeService
		req    servertest.Request
		status int
		code   string
		msg    string // substring of the message
	}{
		{name: "ErrUnauthorizedNoKey", req: servertest.Request{Method: "POST", Path: "/v1/proofs", Body: validProveBody},
			status: 401, code: "unauthorized"},
		{name: "ErrUnauthorizedUnknownKey", req: servertest.Request{Method: "POST", Path: "/v1/proofs", Key: "nope", Body: validProveBody},
			status: 401, code: "unauthorized"},
		{name: "ErrForbidden", req: servertest.Request{Method: "POST", Path: "/v1/policies", Key: holderKey, Body: "{}"},
			status: 403, code: "forbidden", msg: "verifier"},
		{name: "ErrMalformedJSON", req: servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: `{"request_id": `},
			status: 400, code: "invalid_request", msg: "body: malformed JSON at line 1, column 16: unexpected end of input"},
		{name: "ErrMalformedJSONTrailingComma", req: servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: "{\"request_id\": \"r\",\n}"},
			status: 400, code: "invalid_request", msg: "body: malformed JSON at line 2, column 1: want an object key"},
		{name: "ErrRepeatedKey", req: servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: `{"request_id": "a", "request_id": "b"}`},
			status: 400, code: "invalid_request", msg: "body: an object repeats a key at line 1, column 21"},
		{name: "ErrMissingField", req: servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: `{"request_id":"r","credential":{}}`},
			status: 400, code: "invalid_request", msg: "holder_secret"},
		{name: "ErrWrongType", req: servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: `{"request_id":7}`},
			status: 400, code: "invalid_request", msg: "request_id: want a string"},
		{name: "ErrUnknownField", req: servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: `{"request_id":"r","extra":1}`},
			status: 400, code: "invalid_request", msg: "extra: unknown field"},
		{name: "ErrAsyncParam", req: servertest.Request{Method: "POST", Path: "/v1/proofs?async=maybe", Key: holderKey, Body: validProveBody},
			status: 400, code: "invalid_request", msg: "async"},
		{name: "ErrTTL", req: servertest.Request{Method: "POST", Path: "/v1/requests", Key: verifierKey, Body: `{"policy_id":"p","ttl_seconds":86401}`},
			status: 400, code: "invalid_request", msg: "ttl_seconds"},
		{name: "ErrBodyTooLarge", mod: func(d *Deps) { d.BodyLimit = 1024 },
			req:    servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: `{"request_id":"` + strings.Repeat("a", 2000) + `"}`},
			status: 413, code: "body_too_large"},
		{name: "ErrNotFound", req: servertest.Request{Method: "GET", Path: "/v1/requests/req_nope"},
			status: 404, code: "not_found"},
		{name: "ErrExpired", svc: &fakeService{request: func(context.Context, string) (zkhealth.PresentationRequest, error) {
			return zkhealth.PresentationRequest{}, zkhealth.Errorf(zkhealth.EExpired, "The request expired.")
		}}, req: servertest.Request{Method: "GET", Path: "/v1/requests/req_old"}, status: 410, code: "expired"},
		{name: "ErrOverloadedAsync", req: servertest.Request{Method: "POST", Path: "/v1/proofs?async=true", Key: holderKey, Body: validProveBody},
			status: 503, code: "overloaded"},
		{name: "ErrInternalHidden", req: servertest.Request{Method: "POST", Path: "/v1/issuers", Key: "admin-key", Body: `{"name":"x","public_key":"00"}`},
			mod: func(d *Deps) { d.Keys["admin-key"] = RoleAdmin }, status: 500, code: "internal", msg: "Internal error"},
		{name: "ErrAttributeValueNotEchoed", req: servertest.Request{Method: "POST", Path: "/v1/credentials", Key: "issuer-key",
			Body: `{"schema":"clinical","holder_commitment":"0x01","attributes":{"birth_date":"1976-13-45"}}`},
			mod: func(d *Deps) { d.Keys["issuer-key"] = RoleIssuer }, status: 400, code: "invalid_request", msg: "birth_date"},
		{name: "ErrPanic", svc: &fakeService{circuits: func() []service.Circuit { panic("secret value in panic") }},
			req: servertest.Request{Method: "GET", Path: "/v1/circuits"}, status: 500, code: "internal", msg: "Internal error"},
		{name: "ErrTimeout", mod: func(d *Deps) { d.RequestTimeout = 100 * time.Millisecond },
			svc: &fakeService{prove: func(ctx context.Context, _ service.ProveInput) ([]byte, bool, error) {
				<-ctx.Done()
				return nil, false, fmt.Errorf("prove: %w", ctx.Err())
			}},
			req: servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: validProveBody}, status: 503, code: "unavailable", msg: "timed out"},
		{name: "ErrUnknownRoute", req: servertest.Request{Method: "GET", Path: "/v1/nothing"}, status: 404, code: "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := tc.svc
			if svc == nil {
				svc = &fakeService{}
			}
			h := newHarness(t, svc, tc.mod)
			var r *servertest.Response
			if tc.name == "ErrUnknownRoute" {
				r, _ = h.c.Try(tc.req) // not in the document, by definition
			} else {
				r = h.c.Do(tc.req)
			}
			if r.Status != tc.status || r.ErrorCode() != tc.code || !strings.Contains(r.ErrorMessage(), tc.msg) {
				t.Errorf("got %d %s; want %d %s with %q", r.Status, r.Body, tc.status, tc.code, tc.msg)
			}
			if tc.code == "overloaded" && r.Header.Get("Retry-After") == "" {
				t.Error("overloaded without Retry-After")
			}
			for _, leak := range []string{"1976-13-45", "secret value", "/secret/path", "disk on fire"} {
				if strings.Contains(string(r.Body), leak) {
					t.Errorf("answer leaks %q: %s", leak, r.Body)
				}
				if strings.Contains(h.log.String(), leak) {
					t.Errorf("log leaks %q", leak)
				}
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	lim := &countingLimiter{n: 2, count: map[string]int{}}
	h := newHarness(t, &fakeService{}, func(d *Deps) { d.Limiter = lim })
	for i := range 3 {
		r := h.c.Do(servertest.Request{Method: "GET", Path: "/v1/proofs/jobs/job_x", Key: holderKey})
		want := 404
		if i == 2 {
			want = 429
		}
		if r.Status != want {
			t.Fatalf("request %d: %d %s, want %d", i, r.Status, r.Body, want)
		}
		if want == 429 && (r.Header.Get("Retry-After") != "2" || r.ErrorCode() != "rate_limited") {
			t.Errorf("429 with Retry-After %q, code %s", r.Header.Get("Retry-After"), r.ErrorCode())
		}
	}
	// Another key has its own budget; the limiter never sees the key itself.
	if r := h.c.Do(servertest.Request{Method: "GET", Path: "/v1/policies/p", Key: verifierKey}); r.Status != 404 {
		t.Errorf("other key: %d", r.Status)
	}
	for k := range lim.count {
		if strings.Contains(k, holderKey) || strings.Contains(k, verifierKey) {
			t.Errorf("limiter key %q holds the API key", k)
		}
	}
}

func TestOverloaded(t *testing.T) {
	release := make(chan struct{})
	var started atomic.Int32
	svc := &fakeService{prove: func(ctx context.Context, _ service.ProveInput) ([]byte, bool, error) {
		started.Add(1)
		<-release
		return nil, false, zkhealth.Errorf(zkhealth.ENotSatisfied, "predicate 0 (x) does not hold")
	}}
	h := newHarness(t, svc, func(d *Deps) { d.MaxPendingProofs = 1; d.RetryAfter = 3 * time.Second })
	done := make(chan *servertest.Response)
	go func() {
		r, _ := h.c.Try(servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: validProveBody})
		done <- r
	}()
	for started.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	r := h.c.Do(servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: validProveBody})
	if r.Status != 503 || r.ErrorCode() != "overloaded" || r.Header.Get("Retry-After") != "3" {
		t.Errorf("second proof: %d %s Retry-After %q", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	close(release)
	if first := <-done; first == nil || first.Status != 422 || !strings.Contains(first.ErrorMessage(), "predicate 0") {
		t.Errorf("first proof: %+v", first)
	}
}

func TestReadyRecovers(t *testing.T) {
	var down atomic.Bool
	svc := &fakeService{ready: func(context.Context) error {
		if down.Load() {
			return zkhealth.Errorf(zkhealth.EUnavailable, "store down")
		}
		return nil
	}}
	h := newHarness(t, svc, nil)
	wait := func(want int) {
		t.Helper()
		deadline := time.Now().Add(1100 * time.Millisecond)
		for {
			r := h.c.Do(servertest.Request{Method: "GET", Path: "/readyz"})
			if r.Status == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz still %d after 1.1 s, want %d", r.Status, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait(200)
	down.Store(true)
	wait(503)
	down.Store(false)
	wait(200)
}

func TestAccessLogAndMetrics(t *testing.T) {
	h := newHarness(t, &fakeService{}, nil)
	h.c.Do(servertest.Request{Method: "GET", Path: "/v1/requests/req_private123?q=querysecret"})
	h.c.Do(servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey,
		Body: map[string]any{"request_id": "req_1", "credential": map[string]any{"version": 1}, "holder_secret": "bodysecret"}})
	r := h.c.Do(servertest.Request{Method: "GET", Path: "/metrics"})
	for _, want := range []string{`route="/v1/requests/{id}"`, `route="/v1/proofs"`, "zkhealth_http_request_duration_seconds"} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	log := h.log.String()
	for _, leak := range []string{"req_private123", "querysecret", "bodysecret", holderKey} {
		if strings.Contains(log, leak) || strings.Contains(string(r.Body), leak) {
			t.Errorf("log or metrics hold %q", leak)
		}
	}
	var sawRole bool
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] != "http request" {
			continue
		}
		for _, k := range []string{"method", "route", "status", "duration_ms", "request_id"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("access log line lacks %s: %s", k, line)
			}
		}
		sawRole = sawRole || rec["role"] == "holder"
	}
	if !sawRole {
		t.Error("no access log line names the holder role")
	}
}

// TestOpenAPIValidation checks the validating client itself: answers the document does not
// describe are caught.
func TestOpenAPIValidation(t *testing.T) {
	h := newHarness(t, &fakeService{}, nil)
	req := httptest.NewRequest("GET", "http://x/healthz", nil)
	for _, tc := range []struct {
		name string
		resp servertest.Response
		ok   bool
	}{
		{"OK", servertest.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"status":"ok"}`)}, true},
		{"ErrBody", servertest.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"state":1}`)}, false},
		{"ErrStatus", servertest.Response{Status: 418, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{}`)}, false},
		{"ErrErrorShape", servertest.Response{Status: 500, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"error":"x"}`)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := h.c.Validate(req, &tc.resp)
			if (err == nil) != tc.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	// a valid proof carries first_use, an invalid one its reason and no first_use
	verify := httptest.NewRequest("POST", "http://x/v1/verify", nil)
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"Valid", `{"valid":true,"nullifier":"0x01","first_use":true}`, true},
		{"Invalid", `{"valid":false,"reason":"challenge_mismatch","nullifier":"0x01"}`, true},
		{"ErrValidWithoutFirstUse", `{"valid":true,"nullifier":"0x01"}`, false},
		{"ErrInvalidWithFirstUse", `{"valid":false,"reason":"challenge_mismatch","nullifier":"0x01","first_use":false}`, false},
	} {
		t.Run("Verify"+tc.name, func(t *testing.T) {
			resp := servertest.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}, "X-Cache": {"miss"}}, Body: []byte(tc.body)}
			if err := h.c.Validate(verify, &resp); (err == nil) != tc.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
