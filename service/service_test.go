package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/bolt"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/inmem"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/prover"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/service"
	"github.com/zkhealth/zkhealth/verifier"
)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

type env struct {
	svc    *service.Service
	clock  *clock
	issued *testfixture.Issued
	req    zkhealth.PresentationRequest
	store  *countingStore
	queue  *recordingQueue
	v      *verifier.Verifier
}

func newEnv(t *testing.T) *env {
	t.Helper()
	testfixture.Quiet()
	dir := testfixture.KeysDir(t, keys.Groth16, schema.Coverage())
	ids := testfixture.CircuitIDs(schema.Coverage())
	pr, err := prover.New(dir, keys.Groth16, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(dir, ids, keys.Groth16)
	if err != nil {
		t.Fatal(err)
	}
	var sets []*keys.Keys
	for _, id := range ids {
		sets = append(sets, pr.Keys(id))
	}
	reg, err := keys.NewRegistry(sets...)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := bolt.Open(filepath.Join(t.TempDir(), "zk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	store := &countingStore{Store: bs}
	ik, _ := credential.GenerateIssuerKey(nil)
	// the real time: bolt purges requests long expired by the real clock
	c := &clock{now: time.Now().UTC()}
	queue := &recordingQueue{}
	svc, err := service.New(service.Deps{Store: store, ProofCache: inmem.NewCache(100), VerifyCache: inmem.NewCache(100),
		Queue: queue, Prover: pr, Verifier: v, Keys: reg, Secret: make([]byte, 32), IssuerKey: ik, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	is := testfixture.Issue(t, schema.Coverage(), testfixture.CoverageAttrs, "2026-11-01", "2027-11-01")
	if _, err := svc.RegisterIssuer(ctx, service.IssuerInput{Name: "payer", PublicKey: is.Issuer.PublicHex()}); err != nil {
		t.Fatal(err)
	}
	sp, err := svc.RegisterPolicy(ctx, []byte(testfixture.CoveragePolicy))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{svc: svc, clock: c, issued: is, store: store, queue: queue, v: v}
	e.req = e.open(t, sp.ID)
	return e
}

// open opens a presentation request for the policy as of testfixture.AsOf, valid for a minute.
func (e *env) open(t *testing.T, policyID string) zkhealth.PresentationRequest {
	t.Helper()
	ttl := int64(60)
	req, err := e.svc.OpenRequest(context.Background(), service.RequestInput{PolicyID: policyID, AsOf: testfixture.AsOf, TTLSeconds: &ttl})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// proveInput is the proof request of the env's holder for its request.
func (e *env) proveInput(t *testing.T) service.ProveInput {
	t.Helper()
	cred, err := json.Marshal(e.issued.Credential)
	if err != nil {
		t.Fatal(err)
	}
	return service.ProveInput{RequestID: e.req.ID, Credential: cred, HolderSecret: e.issued.Holder.SecretHex()}
}

func (e *env) verify(t *testing.T, requestID string, f *zkhealth.ProofFile) service.Verification {
	t.Helper()
	raw, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.svc.Verify(context.Background(), service.VerifyInput{RequestID: requestID, Proof: raw})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// countingStore counts the presentation requests read from the store.
type countingStore struct {
	zkhealth.Store
	requestReads atomic.Int32
}

func (s *countingStore) Request(ctx context.Context, id string, now time.Time) (zkhealth.PresentationRequest, error) {
	s.requestReads.Add(1)
	return s.Store.Request(ctx, id, now)
}

// recordingQueue records what is queued and runs nothing.
type recordingQueue struct {
	mu  sync.Mutex
	ids []string
}

func (q *recordingQueue) Enqueue(_ context.Context, id string, _ zkhealth.ProofJob) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ids = append(q.ids, id)
	return nil
}
func (q *recordingQueue) Job(context.Context, string) (zkhealth.Job, error) {
	return zkhealth.Job{}, zkhealth.Errorf(zkhealth.ENotFound, "no such job")
}
func (q *recordingQueue) Depth(context.Context) (int, error) { return len(q.queued()), nil }
func (q *recordingQueue) queued() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.ids...)
}

func (e *env) prove(t *testing.T) *zkhealth.ProofFile {
	t.Helper()
	out, _, err := e.svc.Prove(context.Background(), e.proveInput(t))
	if err != nil {
		t.Fatal(err)
	}
	f, err := zkhealth.ParseProof(out)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestIdenticalVerificationsRace: identical verifications racing each other all report the first
// use (they are one verification); a different proof by the same holder reports a second use.
func TestIdenticalVerificationsRace(t *testing.T) {
	e := newEnv(t)
	f := e.prove(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]service.VerifyResult, 8)
	raw, _ := json.Marshal(f)
	for i := range results {
		wg.Go(func() {
			v, err := e.svc.Verify(ctx, service.VerifyInput{RequestID: e.req.ID, Proof: raw})
			if err != nil {
				t.Error(err)
			}
			results[i] = v.Result
		})
	}
	wg.Wait()
	for i, res := range results {
		if !res.Valid || res.FirstUse == nil || !*res.FirstUse {
			t.Fatalf("verification %d: %+v, want valid first use", i, res)
		}
	}
	// another proof of the same holder for the same scope (new request, new challenge)
	e.req = e.open(t, e.req.PolicyID)
	res := e.verify(t, e.req.ID, e.prove(t)).Result
	if !res.Valid || res.FirstUse == nil || *res.FirstUse {
		t.Fatalf("second enrolment: %+v, want valid, not first use", res)
	}
}

// TestExpiredRequestBeatsCache: once a request expires, proving and verifying answer EExpired,
// even for a proof request whose answer is cached.
func TestExpiredRequestBeatsCache(t *testing.T) {
	e := newEnv(t)
	f := e.prove(t)
	e.clock.Add(2 * time.Minute)
	_, _, err := e.svc.Prove(context.Background(), e.proveInput(t))
	if zkhealth.ErrorCode(err) != zkhealth.EExpired {
		t.Fatalf("prove after expiry: %v, want %s", err, zkhealth.EExpired)
	}
	raw, _ := json.Marshal(f)
	if _, err := e.svc.Verify(context.Background(), service.VerifyInput{RequestID: e.req.ID, Proof: raw}); zkhealth.ErrorCode(err) != zkhealth.EExpired {
		t.Fatalf("verify after expiry: %v, want %s", err, zkhealth.EExpired)
	}
}

// TestIssueFHIR: attributes read from a FHIR bundle as of the issue date; malformed bundles and
// options are EInvalid naming fhir (with the resource and path) or loinc, never a record value.
func TestIssueFHIR(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	louis := testfixture.SyntheaBundle(t, "Louis_Maggio")
	hc := e.issued.Credential.HolderCommitment
	t.Run("OK", func(t *testing.T) {
		for _, sc := range []string{"clinical", "coverage"} {
			c, err := e.svc.Issue(ctx, service.IssueInput{Schema: sc, HolderCommitment: hc, FHIR: louis})
			now := e.clock.Now()
			if err != nil || c.IssuedOn != now.Format("2006-01-02") || c.ExpiresOn != now.AddDate(1, 0, 0).Format("2006-01-02") {
				t.Fatalf("%s: issued %s, expires %s, %v; want today and a year later", sc, c.IssuedOn, c.ExpiresOn, err)
			}
		}
	})
	for _, tc := range []struct {
		name string
		in   service.IssueInput
		msg  string
	}{
		{"ErrBoth", service.IssueInput{Attributes: json.RawMessage(testfixture.CoverageAttrs), FHIR: louis}, "fhir: "},
		{"ErrNeither", service.IssueInput{}, "attributes: "},
		{"ErrLOINCWithoutFHIR", service.IssueInput{Attributes: json.RawMessage(testfixture.CoverageAttrs), LOINC: []string{"4548-4"}}, "loinc: "},
		{"ErrLOINCEmpty", service.IssueInput{FHIR: louis, LOINC: []string{}}, "loinc: "},
		{"ErrMalformed", service.IssueInput{FHIR: json.RawMessage(`{"resourceType": "Bundle", "type": "collection", "entry": [
			{"resource": {"resourceType": "Patient", "birthDate": "1976-13-45"}}]}`)}, "fhir: Patient[0].birthDate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Schema, tc.in.HolderCommitment = "clinical", hc
			_, err := e.svc.Issue(ctx, tc.in)
			if zkhealth.ErrorCode(err) != zkhealth.EInvalid || !strings.HasPrefix(err.Error(), tc.msg) || strings.Contains(err.Error(), "1976") {
				t.Errorf("got %v, want %s starting %q", err, zkhealth.EInvalid, tc.msg)
			}
		})
	}
}

// TestInvalidProofSaysNothingOfFirstUse: an invalid verification answers valid:false with its
// reason and no first_use at all (first_use:false would read as "already enrolled").
func TestInvalidProofSaysNothingOfFirstUse(t *testing.T) {
	e := newEnv(t)
	f := e.prove(t)
	other := e.open(t, e.req.PolicyID) // another challenge
	v := e.verify(t, other.ID, f)
	if v.Result.Valid || v.Result.Reason != verifier.ReasonChallenge || v.Result.FirstUse != nil {
		t.Fatalf("proof for another request: %+v, want invalid, reason %s, no first_use", v.Result, verifier.ReasonChallenge)
	}
	js, _ := json.Marshal(v.Result)
	if strings.Contains(string(js), "first_use") {
		t.Errorf("invalid result %s mentions first_use", js)
	}
	if v.Issuer != "" {
		t.Errorf("invalid result names the issuer %s", v.Issuer)
	}
	if ok := e.verify(t, e.req.ID, f); !ok.Result.Valid || ok.Issuer != e.issued.Issuer.PublicHex() {
		t.Errorf("valid proof: %+v, issuer %q", ok.Result, ok.Issuer)
	}
}

// TestAsyncPreCheck: ProveAsync refuses at once, with the synchronous call's error, what the
// synchronous call refuses before proving; only a request that passes is queued.
func TestAsyncPreCheck(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	unsatisfied, err := e.svc.RegisterPolicy(ctx, []byte(`{"schema": "coverage", "scope": "payer:acme:al",
 "predicates": [{"list": "service_categories", "match": "exists", "code": ["35", "AL"]}, {"attribute": "plan", "op": "eq", "value": "SILVER"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	foreign := testfixture.Issue(t, schema.Coverage(), testfixture.CoverageAttrs, "2026-11-01", "2027-11-01")
	foreignCred, _ := json.Marshal(foreign.Credential)
	good := e.proveInput(t)
	for _, tc := range []struct {
		name string
		edit func(in *service.ProveInput)
		code string
	}{
		{"ErrNotSatisfied", func(in *service.ProveInput) { in.RequestID = e.open(t, unsatisfied.ID).ID }, zkhealth.ENotSatisfied},
		{"ErrUntrustedIssuer", func(in *service.ProveInput) { in.Credential, in.HolderSecret = foreignCred, foreign.Holder.SecretHex() }, zkhealth.ECredential},
		{"ErrWrongHolder", func(in *service.ProveInput) { in.HolderSecret = foreign.Holder.SecretHex() }, zkhealth.ECredential},
		{"ErrBadSecret", func(in *service.ProveInput) { in.HolderSecret = "zz" }, zkhealth.EInvalid},
		{"ErrMissingCredential", func(in *service.ProveInput) { in.Credential = nil }, zkhealth.EInvalid},
		{"ErrUnknownRequest", func(in *service.ProveInput) { in.RequestID = "req_unknown" }, zkhealth.ENotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := good
			tc.edit(&in)
			_, _, syncErr := e.svc.Prove(ctx, in)
			_, asyncErr := e.svc.ProveAsync(ctx, in)
			if zkhealth.ErrorCode(syncErr) != tc.code || zkhealth.ErrorCode(asyncErr) != tc.code || syncErr.Error() != asyncErr.Error() {
				t.Fatalf("sync: %v; async: %v; want both %s with one message", syncErr, asyncErr, tc.code)
			}
		})
	}
	if q := e.queue.queued(); len(q) != 0 {
		t.Fatalf("refused requests were queued: %v", q)
	}
	id, err := e.svc.ProveAsync(ctx, good)
	if err != nil || !strings.HasPrefix(id, "job_") {
		t.Fatalf("ProveAsync = %q, %v", id, err)
	}
	if q := e.queue.queued(); len(q) != 1 || q[0] != id {
		t.Fatalf("queued %v, want [%s]", q, id)
	}
}

// TestRequestParsedOnce: a presentation request is parsed (its policy compiled) once per process
// and kept: OpenRequest's parse is the one every proof, verification and FHIR result uses, and a
// process that did not open it parses it once. The store is still asked every time: it decides
// whether the request exists and is open.
func TestRequestParsedOnce(t *testing.T) {
	e := newEnv(t)
	f := e.prove(t)
	if n := e.store.requestReads.Load(); n != 1 {
		t.Errorf("a proof read the request %d times, want once", n)
	}
	v1, v2 := e.verify(t, e.req.ID, f), e.verify(t, e.req.ID, f)
	if v1.Request == nil || v1.Request != v2.Request || v1.Request.Compiled == nil {
		t.Fatalf("verifications used presentations %p and %p, want one, compiled", v1.Request, v2.Request)
	}
	if n := e.store.requestReads.Load(); n != 3 {
		t.Errorf("the store was asked for the request %d times, want once per call (3)", n)
	}
	// a request this process did not open (another serve process of the deployment)
	other, err := service.New(service.Deps{Store: e.store, ProofCache: inmem.NewCache(10), VerifyCache: inmem.NewCache(10),
		Prover: noProver{}, Verifier: e.v, Keys: &keys.Registry{}, Secret: make([]byte, 32), IssuerKey: e.issued.Issuer, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(f)
	var seen *service.Presentation
	for range 3 {
		v, err := other.Verify(context.Background(), service.VerifyInput{RequestID: e.req.ID, Proof: raw})
		if err != nil {
			t.Fatal(err)
		}
		if seen != nil && v.Request != seen {
			t.Fatal("the other process parsed the request again")
		}
		seen = v.Request
	}
	if seen == v1.Request {
		t.Fatal("two services share one presentation")
	}
}

type noProver struct{}

func (noProver) Prepare(prover.Request) (*prover.Prepared, error) {
	return nil, errors.New("no prover")
}
func (noProver) ProvePrepared(context.Context, *prover.Prepared) (*zkhealth.ProofFile, error) {
	return nil, errors.New("no prover")
}
