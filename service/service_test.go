package service_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
}

func newEnv(t *testing.T) *env {
	t.Helper()
	testfixture.Quiet()
	dir := testfixture.KeysDir(t, keys.Groth16, schema.Coverage())
	pr, err := prover.New(dir, keys.Groth16, []string{"coverage-v1"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(dir, []string{"coverage-v1"}, keys.Groth16)
	if err != nil {
		t.Fatal(err)
	}
	store, err := bolt.Open(filepath.Join(t.TempDir(), "zk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ik, _ := credential.GenerateIssuerKey(nil)
	c := &clock{now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	svc, err := service.New(service.Deps{Store: store, ProofCache: inmem.NewCache(100), VerifyCache: inmem.NewCache(100),
		Prover: pr, Verifier: v, Secret: make([]byte, 32), IssuerKey: ik, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	is := testfixture.Issue(t, schema.Coverage(), testfixture.CoverageAttrs, "2026-11-01", "2027-11-01")
	if _, err := svc.RegisterIssuer(ctx, "payer", is.Issuer.PublicHex()); err != nil {
		t.Fatal(err)
	}
	sp, err := svc.RegisterPolicy(ctx, []byte(testfixture.CoveragePolicy))
	if err != nil {
		t.Fatal(err)
	}
	req, err := svc.OpenRequest(ctx, sp.ID, testfixture.AsOf, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, clock: c, issued: is, req: req}
}

func (e *env) prove(t *testing.T) *zkhealth.ProofFile {
	t.Helper()
	cred, _ := json.Marshal(e.issued.Credential)
	out, _, err := e.svc.Prove(context.Background(), service.ProveInput{RequestID: e.req.ID, Credential: cred, HolderSecret: e.issued.Holder.SecretHex()})
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
	for i := range results {
		wg.Go(func() {
			res, _, err := e.svc.Verify(ctx, e.req.ID, f)
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	for i, res := range results {
		if !res.Valid || !res.FirstUse {
			t.Fatalf("verification %d: %+v, want valid first use", i, res)
		}
	}
	// another proof of the same holder for the same scope (new request, new challenge)
	req2, err := e.svc.OpenRequest(ctx, e.req.PolicyID, testfixture.AsOf, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	e.req = req2
	res, _, err := e.svc.Verify(ctx, req2.ID, e.prove(t))
	if err != nil || !res.Valid || res.FirstUse {
		t.Fatalf("second enrolment: %+v %v, want valid, not first use", res, err)
	}
}

// TestExpiredRequestBeatsCache: once a request expires, proving and verifying answer EExpired,
// even for a proof request whose answer is cached.
func TestExpiredRequestBeatsCache(t *testing.T) {
	e := newEnv(t)
	f := e.prove(t)
	e.clock.Add(2 * time.Minute)
	cred, _ := json.Marshal(e.issued.Credential)
	_, _, err := e.svc.Prove(context.Background(), service.ProveInput{RequestID: e.req.ID, Credential: cred, HolderSecret: e.issued.Holder.SecretHex()})
	if zkhealth.ErrorCode(err) != zkhealth.EExpired {
		t.Fatalf("prove after expiry: %v, want %s", err, zkhealth.EExpired)
	}
	if _, _, err := e.svc.Verify(context.Background(), e.req.ID, f); zkhealth.ErrorCode(err) != zkhealth.EExpired {
		t.Fatalf("verify after expiry: %v, want %s", err, zkhealth.EExpired)
	}
}

// TestIssueFHIR: attributes read from a FHIR bundle as of the issue date; malformed bundles and
// options are EInvalid naming fhir (with the resource and path) or loinc, never a record value.
func TestIssueFHIR(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	paths, _ := filepath.Glob("../../shared/fixtures/fhir/synthea/Louis_Maggio_*.json")
	if len(paths) != 1 {
		t.Fatalf("Louis_Maggio bundle: %v", paths)
	}
	louis, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	hc := e.issued.Credential.HolderCommitment
	t.Run("OK", func(t *testing.T) {
		for _, sc := range []string{"clinical", "coverage"} {
			c, err := e.svc.Issue(ctx, service.IssueInput{Schema: sc, HolderCommitment: hc, FHIR: louis})
			if err != nil || c.IssuedOn != "2026-11-22" || c.ExpiresOn != "2027-11-22" {
				t.Fatalf("%s: %+v %v", sc, c, err)
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
