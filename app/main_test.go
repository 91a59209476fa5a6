package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/redistest"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/server/servertest"
)

// redisURL is the Redis every Redis-mode test uses: REDIS_URL or a private redis-server.
var redisURL string

func TestMain(m *testing.M) {
	testfixture.Quiet()
	os.Exit(redistest.RunMain(m, &redisURL))
}

// API keys of the test servers, by role.
const (
	adminKey    = "test-admin-key"
	issuerKey   = "test-issuer-key"
	holderKey   = "test-holder-key"
	verifierKey = "test-verifier-key"
	testAPIKeys = "admin:" + adminKey + ",issuer:" + issuerKey + ",holder:" + holderKey + ",verifier:" + verifierKey
)

// Distinctive private values: none may appear in a log line, a Redis key or value, or the data
// directory's store. No policy names them.
const (
	privPayer    = "PAYER-PRIVATE"
	privMemberID = "M-SECRET-771"
	privPlan     = "PLAN-PRIVATE-GOLD"
	privBirth    = "1976-01-16"
	privMedCode  = "860975"
)

func day(offset int) string { return time.Now().UTC().AddDate(0, 0, offset).Format("2006-01-02") }

// coverageAttrs are a coverage record active today.
func coverageAttrs() json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"payer": %q, "plan": %q, "member_id": %q, "status": "active",
 "period_start": %q, "period_end": %q, "insurance_type": "PPO",
 "service_categories": ["30", "1", "33", "35"]}`, privPayer, privPlan, privMemberID, day(-300), day(300)))
}

// clinicalAttrs satisfy testfixture.ClinicalPolicy as of today.
func clinicalAttrs() json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"birth_date": %q, "sex": "male",
 "conditions":   [{"code": "E11.9", "onset": "2015-03-01"}, {"code": "I10", "onset": "2012-06-10"}],
 "observations": [{"code": "4548-4", "value": 7.9, "unit": "%%", "date": %q}],
 "medications":  [{"code": %q, "start": "2016-01-01"}]}`, privBirth, day(-30), privMedCode))
}

// coveragePolicy is an insurer's eligibility policy as of today; it names no private value.
func coveragePolicy() string {
	return fmt.Sprintf(`{"schema": "coverage", "scope": "payer:acme:eligibility",
 "predicates": [
   {"attribute": "status", "op": "eq", "value": "active"},
   {"attribute": "period_start", "op": "lte", "value": %q},
   {"attribute": "period_end", "op": "gte", "value": %q},
   {"list": "service_categories", "match": "exists", "code": ["30"]}
 ]}`, day(0), day(0))
}

// unsatisfiedPolicy fails at predicate 1 (no AL service category).
const unsatisfiedPolicy = `{"schema": "coverage", "scope": "payer:acme:al",
 "predicates": [
   {"attribute": "status", "op": "eq", "value": "active"},
   {"list": "service_categories", "match": "exists", "code": ["AL"]}
 ]}`

// testKeysDir is the circuit key directory every test binary of the run shares.
func testKeysDir(tb testing.TB) string {
	tb.Helper()
	return testfixture.KeysDir(tb, keys.Groth16, schema.Coverage(), schema.Clinical())
}

// testApp is a running serve process with its client and log.
type testApp struct {
	*Main
	cfg Config
	c   *servertest.Client
	log *servertest.LogBuffer
}

// redisConfig puts cfg in Redis mode under a fresh prefix whose keys are deleted after the test.
func redisConfig(t *testing.T, cfg Config) Config {
	t.Helper()
	cfg.RedisURL = redisURL
	cfg.RedisPrefix = redistest.Prefix(t)
	redistest.Cleanup(t, redistest.Client(t, redisURL), cfg.RedisPrefix)
	return cfg
}

// baseConfig fills what tests always want: a free port, a fresh data dir, the shared keys, the
// test API keys, no rate limit and a JSON log into a buffer.
func baseConfig(t *testing.T, cfg Config) (Config, *servertest.LogBuffer) {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.KeysDir == "" {
		cfg.KeysDir = testKeysDir(t)
	}
	if cfg.APIKeys == "" && !cfg.Dev {
		cfg.APIKeys = testAPIKeys
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	if cfg.ProveWorkers == 0 {
		cfg.ProveWorkers = 2
	}
	log := &servertest.LogBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.Stdout == nil {
		cfg.Stdout = &servertest.LogBuffer{}
	}
	return cfg, log
}

// startApp opens a serve process for the test and closes it when the test ends.
func startApp(t *testing.T, cfg Config) *testApp {
	t.Helper()
	cfg, log := baseConfig(t, cfg)
	m := New(cfg)
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &testApp{Main: m, cfg: cfg, c: servertest.New(t, m.URL()), log: log}
}

// startWorker runs a `zkhealth worker` for cfg (Redis mode) until the test ends.
func startWorker(t *testing.T, cfg Config, log *servertest.LogBuffer) {
	t.Helper()
	cfg.Logger = slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewWorker(cfg).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("worker: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("worker did not stop within 30 s")
		}
	})
}

// do sends a request and fails the test unless the status is want.
func (a *testApp) do(t *testing.T, want int, req servertest.Request) *servertest.Response {
	t.Helper()
	r := a.c.Do(req)
	if r.Status != want {
		t.Fatalf("%s %s: %d %s, want %d", req.Method, req.Path, r.Status, r.Body, want)
	}
	return r
}

// holderOf is a holder with a credential the server issued.
type holderOf struct {
	key        *credential.HolderKey
	credential json.RawMessage
}

// issue makes a holder and has the server issue it a credential of the schema.
func (a *testApp) issue(t *testing.T, schemaID string, attrs json.RawMessage) holderOf {
	t.Helper()
	hk, err := credential.GenerateHolderKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := a.do(t, 201, servertest.Request{Method: "POST", Path: "/v1/credentials", Key: issuerKey, Body: map[string]any{
		"schema": schemaID, "holder_commitment": fieldhash.Hex(hk.Commitment()), "attributes": attrs, "expires_on": day(365),
	}})
	var out struct {
		Credential json.RawMessage `json:"credential"`
	}
	r.JSON(t, &out)
	return holderOf{key: hk, credential: out.Credential}
}

// registerPolicy stores a policy and returns its id.
func (a *testApp) registerPolicy(t *testing.T, policy string) string {
	t.Helper()
	r := a.do(t, 201, servertest.Request{Method: "POST", Path: "/v1/policies", Key: verifierKey, Body: policy})
	var sp struct{ ID string }
	r.JSON(t, &sp)
	return sp.ID
}

// presentationRequest is the API's view of an open request.
type presentationRequest struct {
	ID        string    `json:"id"`
	PolicyID  string    `json:"policy_id"`
	AsOf      string    `json:"as_of"`
	Scope     string    `json:"scope"`
	Challenge string    `json:"challenge"`
	ExpiresAt time.Time `json:"expires_at"`
}

// openRequest opens a presentation request for the policy.
func (a *testApp) openRequest(t *testing.T, policyID string, ttlSeconds int) presentationRequest {
	t.Helper()
	body := map[string]any{"policy_id": policyID}
	if ttlSeconds > 0 {
		body["ttl_seconds"] = ttlSeconds
	}
	r := a.do(t, 201, servertest.Request{Method: "POST", Path: "/v1/requests", Key: verifierKey, Body: body})
	var pr presentationRequest
	r.JSON(t, &pr)
	return pr
}

func proveBody(requestID string, h holderOf) map[string]any {
	return map[string]any{"request_id": requestID, "credential": h.credential, "holder_secret": h.key.SecretHex()}
}

// prove proves a request synchronously and returns PROOF.json and the X-Cache header.
func (a *testApp) prove(t *testing.T, requestID string, h holderOf) (json.RawMessage, string) {
	t.Helper()
	r := a.do(t, 200, servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: proveBody(requestID, h)})
	return json.RawMessage(r.Body), r.Header.Get("X-Cache")
}

// verifyResult is the API's answer to a verification.
type verifyResult struct {
	Valid     bool   `json:"valid"`
	Reason    string `json:"reason"`
	Nullifier string `json:"nullifier"`
	FirstUse  bool   `json:"first_use"`
}

// verify verifies a proof against a request and returns the result and the X-Cache header.
func (a *testApp) verify(t *testing.T, requestID string, proof json.RawMessage) (verifyResult, string) {
	t.Helper()
	r := a.do(t, 200, servertest.Request{Method: "POST", Path: "/v1/verify", Key: verifierKey,
		Body: map[string]any{"request_id": requestID, "proof": proof}})
	var res verifyResult
	r.JSON(t, &res)
	return res, r.Header.Get("X-Cache")
}

// proveAsync queues a proof job and waits (up to a minute) until it is done.
func (a *testApp) proveAsync(t *testing.T, requestID string, h holderOf) json.RawMessage {
	t.Helper()
	r := a.do(t, 202, servertest.Request{Method: "POST", Path: "/v1/proofs?async=true", Key: holderKey, Body: proveBody(requestID, h)})
	var acc struct {
		JobID string `json:"job_id"`
	}
	r.JSON(t, &acc)
	deadline := time.Now().Add(time.Minute)
	for {
		r := a.do(t, 200, servertest.Request{Method: "GET", Path: "/v1/proofs/jobs/" + acc.JobID, Key: holderKey})
		var job struct {
			Status string          `json:"status"`
			Proof  json.RawMessage `json:"proof"`
			Error  any             `json:"error"`
		}
		r.JSON(t, &job)
		switch job.Status {
		case "done":
			return job.Proof
		case "failed":
			t.Fatalf("job failed: %s", r.Body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s after a minute", job.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// redisDump returns every key and value under the prefix and asynq's keys, as text, for scanning.
func redisDump(t *testing.T, prefix string) string {
	t.Helper()
	c := redistest.Client(t, redisURL)
	ctx := context.Background()
	var b strings.Builder
	for _, match := range []string{prefix, "asynq:"} {
		keys, err := redistest.Keys(ctx, c, match)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			b.WriteString(k + "\n")
			typ, err := c.Type(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			var val any
			switch typ {
			case "string":
				val, err = c.Get(ctx, k).Result()
			case "hash":
				val, err = c.HGetAll(ctx, k).Result()
			case "list":
				val, err = c.LRange(ctx, k, 0, -1).Result()
			case "set":
				val, err = c.SMembers(ctx, k).Result()
			case "zset":
				val, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
			case "none":
				continue
			default:
				val = "(type " + typ + ")"
			}
			if err != nil && err != redis.Nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%v\n", val)
		}
	}
	return b.String()
}

// assertNoPrivateData fails the test when any private value or holder secret occurs in text.
func assertNoPrivateData(t *testing.T, where, text string, holders ...holderOf) {
	t.Helper()
	needles := []string{privPayer, privMemberID, privPlan, privBirth, privMedCode}
	for _, h := range holders {
		needles = append(needles, h.key.SecretHex())
	}
	for _, n := range needles {
		if strings.Contains(text, n) {
			t.Errorf("%s contains private value %q", where, n)
		}
	}
}

func mustSchema(t *testing.T, id string) *schema.Schema {
	t.Helper()
	s, err := schema.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
